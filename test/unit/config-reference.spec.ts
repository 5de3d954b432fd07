import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { APP_SETTINGS } from '../../libs/config/app-settings';
import { Audience, listSettings } from '../../libs/config/setting';
import { LAUNCHER_SETTINGS } from '../../tools/embedded/launcher-config';

const root = join(__dirname, '..', '..');
const SETTINGS = [...listSettings(APP_SETTINGS), ...listSettings(LAUNCHER_SETTINGS)];

/** docs/configuration.md's headings, one per audience of the settings tables. */
const GROUPS: Record<string, Audience> = {
  'The api': 'api',
  'The worker': 'worker',
  'The api and the worker': 'both',
  'The embedded launcher (`npm start`)': 'launcher',
};
const COMPOSE_SECTION = 'What docker-compose.yml sets';

/** The table rows of each `## ` section of docs/configuration.md: the variable, then the other cells. */
function documentedRows(): Map<string, Array<{ variable: string; cells: string[] }>> {
  const sections = new Map<string, Array<{ variable: string; cells: string[] }>>();
  let rows: Array<{ variable: string; cells: string[] }> = [];
  for (const line of readFileSync(join(root, 'docs', 'configuration.md'), 'utf8').split('\n')) {
    const heading = /^## (.+)$/.exec(line);
    if (heading) sections.set(heading[1], (rows = []));
    const row = /^\| `([A-Z0-9_]+)` \|(.*)\|$/.exec(line);
    if (row) rows.push({ variable: row[1], cells: row[2].split(' | ').map((cell) => cell.trim()) });
  }
  return sections;
}

/** Lines saying where two listings of variables differ, each named by `left` and `right`. */
function differences(left: [string, Map<string, string>], right: [string, Map<string, string>]): string[] {
  const [leftName, leftEntries] = left;
  const [rightName, rightEntries] = right;
  const lines: string[] = [];
  for (const [variable, value] of leftEntries) {
    if (!rightEntries.has(variable)) lines.push(`${variable}: in ${leftName}, missing from ${rightName}`);
    else if (rightEntries.get(variable) !== value)
      lines.push(`${variable}: ${leftName} says ${value}, ${rightName} says ${rightEntries.get(variable)}`);
  }
  for (const variable of rightEntries.keys())
    if (!leftEntries.has(variable)) lines.push(`${variable}: in ${rightName}, missing from ${leftName}`);
  return lines;
}

describe('docs/configuration.md', () => {
  const sections = documentedRows();

  it('has one section per audience of the settings tables, and the compose section', () => {
    expect([...sections.keys()].sort()).toEqual([...Object.keys(GROUPS), COMPOSE_SECTION].sort());
  });

  it('lists exactly the variables of the settings tables, with the same defaults, grouped by who reads them', () => {
    const documented = new Map<string, string>();
    for (const [heading, audience] of Object.entries(GROUPS))
      for (const { variable, cells } of sections.get(heading) ?? []) {
        if (documented.has(variable)) documented.set(variable, 'two rows');
        else documented.set(variable, `${audience}, default ${cells[0]}`);
      }
    const declared = new Map(SETTINGS.map((s) => [s.variable, `${s.audience}, default ${s.defaultText}`]));
    expect(differences(['the settings tables', declared], ['docs/configuration.md', documented])).toEqual([]);
  });

  it('lists what docker-compose.yml sets for the api and the worker, each a variable they read (a misspelt one fails)', () => {
    const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { environment?: Record<string, unknown> }>;
    };
    const setFor = new Map<string, string>();
    for (const service of ['api', 'worker'])
      for (const variable of Object.keys(compose.services[service].environment ?? {}))
        setFor.set(variable, setFor.has(variable) ? `${setFor.get(variable)}, ${service}` : service);
    const appVariables = new Map(listSettings(APP_SETTINGS).map((s) => [s.variable, s.audience]));
    const unknown = [...setFor.keys()].filter((variable) => !appVariables.has(variable));
    expect(unknown).toEqual([]);
    const misplaced = [...setFor].filter(([variable, services]) => {
      const audience = appVariables.get(variable);
      return audience !== 'both' && !services.split(', ').includes(audience as string);
    });
    expect(misplaced).toEqual([]);

    const documented = new Map(sections.get(COMPOSE_SECTION)?.map(({ variable, cells }) => [variable, cells[0]]));
    expect(differences(['docker-compose.yml', setFor], ['docs/configuration.md', documented])).toEqual([]);
  });
});

describe('the settings tables', () => {
  it('declare each variable once, each with a one-line doc and a default or what leaving it unset means', () => {
    const names = SETTINGS.map((s) => s.variable);
    expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([]);
    for (const { variable, defaultText, doc } of SETTINGS) {
      expect({ variable, defaultText }).toEqual({ variable, defaultText: expect.stringMatching(/\S/) });
      expect({ variable, doc }).toEqual({ variable, doc: expect.stringMatching(/^\S.{2,}$/) });
    }
  });
});

import { join } from 'node:path';
import { loadConfig } from '../../libs/config/config';
import { projectRoot } from '../../libs/config/project-root';
import { ConfigError } from '../../libs/config/readers';
import { loadLauncherConfig } from '../../tools/embedded/launcher-config';

describe("npm start's launcher settings", () => {
  it('default to 54329 (Postgres), 7233 (Temporal) and 8233 (its Web UI), and read each variable', () => {
    expect(loadLauncherConfig({})).toMatchObject({ postgresPort: 54329, temporalPort: 7233, temporalUiPort: 8233 });
    expect(
      loadLauncherConfig({
        EMBEDDED_POSTGRES_PORT: '15432',
        EMBEDDED_TEMPORAL_PORT: '17233',
        TEMPORAL_UI_PORT: '18233',
      }),
    ).toMatchObject({
      postgresPort: 15432,
      temporalPort: 17233,
      temporalUiPort: 18233,
    });
  });

  it.each([
    ['EMBEDDED_POSTGRES_PORT', 'five-four-three-two-nine'],
    ['EMBEDDED_POSTGRES_PORT', '0'],
    ['EMBEDDED_TEMPORAL_PORT', '72330'],
    ['EMBEDDED_TEMPORAL_PORT', '7233.5'],
    ['TEMPORAL_UI_PORT', '-1'],
    ['TEMPORAL_UI_PORT', 'ui'],
  ])('stop the start naming %s when it is %p', (variable, value) => {
    const read = () => loadLauncherConfig({ [variable]: value });
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(`${variable}: "${value}" is not a TCP port (1-65535)`);
  });

  it('keep data in .data under the project unless DATA_DIR says, relative to the project or absolute', () => {
    expect(loadLauncherConfig({}).dataDir).toBe(join(projectRoot(), '.data'));
    expect(loadLauncherConfig({ DATA_DIR: '' }).dataDir).toBe(join(projectRoot(), '.data'));
    expect(loadLauncherConfig({ DATA_DIR: 'var/run' }).dataDir).toBe(join(projectRoot(), 'var', 'run'));
    expect(loadLauncherConfig({ DATA_DIR: '/srv/webhooks' }).dataDir).toBe('/srv/webhooks');
  });

  it('find the temporal binary themselves unless TEMPORAL_CLI_PATH names one', () => {
    expect(loadLauncherConfig({}).temporalCliPath).toBeUndefined();
    expect(loadLauncherConfig({ TEMPORAL_CLI_PATH: '' }).temporalCliPath).toBeUndefined();
    expect(loadLauncherConfig({ TEMPORAL_CLI_PATH: '/opt/temporal' }).temporalCliPath).toBe('/opt/temporal');
  });

  it("are not the api's or the worker's to read", () => {
    const config = loadConfig({ DATA_DIR: '/srv/webhooks', TEMPORAL_CLI_PATH: '/opt/temporal' });
    expect(JSON.stringify(config)).not.toMatch(/srv\/webhooks|opt\/temporal/);
  });
});

import { ConfigError } from '../../libs/config/config';
import { embeddedPorts } from '../../tools/embedded/ports';

describe("npm start's embedded ports", () => {
  it('default to 54329 (Postgres), 7233 (Temporal) and 8233 (its Web UI), and read each variable', () => {
    expect(embeddedPorts({})).toEqual({ postgresPort: 54329, temporalPort: 7233, temporalUiPort: 8233 });
    expect(
      embeddedPorts({ EMBEDDED_POSTGRES_PORT: '15432', EMBEDDED_TEMPORAL_PORT: '17233', TEMPORAL_UI_PORT: '18233' }),
    ).toEqual({
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
    const read = () => embeddedPorts({ [variable]: value });
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(`${variable}: "${value}" is not a TCP port (1-65535)`);
  });
});

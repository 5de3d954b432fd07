import { ArgumentsHost, HttpStatus, Logger } from '@nestjs/common';
import { DatabaseError } from 'pg';
import { ErrorFilter } from '../../apps/api/src/common/error.filter';
import { ApiMetrics } from '../../libs/observability/metrics';

/** An HTTP request as the filter reads it (`complete`: its body arrived in full), and the reply it writes. */
function httpHost({ complete = true } = {}) {
  const sent: { status?: number; body?: unknown; headers?: Record<string, string> } = {};
  const reply = {
    headers: (headers: Record<string, string>) => ((sent.headers = headers), reply),
    status: (status: number) => ((sent.status = status), reply),
    send: (body: unknown) => ((sent.body = body), reply),
  };
  const request = { method: 'POST', routeOptions: { url: '/v1/subscriptions' }, raw: { complete } };
  const host = {
    getType: () => 'http',
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => reply }),
  } as unknown as ArgumentsHost;
  return { host, sent };
}

describe('ErrorFilter', () => {
  const filter = new ErrorFilter(new ApiMetrics());
  let logged: jest.SpyInstance;
  beforeEach(() => (logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined)));
  afterEach(() => logged.mockRestore());

  it('does not log a request whose client went away before its body arrived as an error', () => {
    for (const gone of [Object.assign(new Error('aborted'), { code: 'ECONNRESET' }), new Error('aborted')]) {
      const { host, sent } = httpHost({ complete: false });
      filter.catch(gone, host);
      expect(sent).toEqual({
        status: HttpStatus.BAD_REQUEST,
        headers: {},
        body: { error: expect.objectContaining({ code: 'request_aborted' }) },
      });
    }
    expect(logged).not.toHaveBeenCalled();
  });

  it('answers 503 database_unavailable with Retry-After when Postgres goes away mid-request, not the client’s 400', () => {
    const lost = [
      // The API's own connection reset while Postgres shuts down: the same code as a client going away.
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      new Error('Connection terminated unexpectedly'),
      new DatabaseError('the database system is shutting down', 0, 'error'),
    ];
    (lost[3] as DatabaseError).code = '57P03';
    const warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    for (const error of lost) {
      const { host, sent } = httpHost();
      filter.catch(error, host);
      expect(sent).toEqual({
        status: HttpStatus.SERVICE_UNAVAILABLE,
        headers: { 'Retry-After': '2' },
        body: { error: expect.objectContaining({ code: 'database_unavailable' }) },
      });
    }
    expect(warned).toHaveBeenCalledTimes(lost.length);
    warned.mockRestore();
    expect(logged).not.toHaveBeenCalled();
  });

  it('logs anything else it did not expect, and answers 500 internal_error without its details', () => {
    const { host, sent } = httpHost();
    filter.catch(new TypeError('cannot read properties of undefined'), host);
    expect(sent.status).toBe(HttpStatus.INTERNAL_SERVER_ERROR);
    expect(sent.body).toEqual({ error: expect.objectContaining({ code: 'internal_error' }) });
    expect(JSON.stringify(sent.body)).not.toContain('undefined');
    expect(logged).toHaveBeenCalledTimes(1);
  });
});

import { ArgumentsHost, HttpStatus, Logger } from '@nestjs/common';
import { ErrorFilter } from '../../apps/api/src/common/error.filter';
import { ApiMetrics } from '../../libs/observability/metrics';

/** An HTTP request as the filter reads it, and the reply it writes. */
function httpHost() {
  const sent: { status?: number; body?: unknown } = {};
  const reply = {
    headers: () => reply,
    status: (status: number) => ((sent.status = status), reply),
    send: (body: unknown) => ((sent.body = body), reply),
  };
  const request = { method: 'POST', routeOptions: { url: '/v1/subscriptions' } };
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
      const { host, sent } = httpHost();
      filter.catch(gone, host);
      expect(sent).toEqual({
        status: HttpStatus.BAD_REQUEST,
        body: { error: expect.objectContaining({ code: 'request_aborted' }) },
      });
    }
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

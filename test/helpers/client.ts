export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface RequestOptions {
  /** Another key than the client's; null sends none. */
  apiKey?: string | null;
  /** Sent as it is instead of the JSON of `body`, for bodies JSON cannot say. */
  rawBody?: string;
  contentType?: string;
  /** More headers (a request id, a cookie); they win over the client's own. */
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * The REST API as a test calls it: a base URL and a key, JSON in and out. `request` answers whatever came back;
 * the verbs assert the status they expect and answer the body, for the calls a test makes on its way to what it
 * asserts.
 */
export class TestClient {
  constructor(
    readonly baseUrl: string,
    readonly apiKey: string | null,
  ) {}

  /** The same API as another caller (a tenant's key). */
  as(apiKey: string | null): TestClient {
    return new TestClient(this.baseUrl, apiKey);
  }

  async request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    options: RequestOptions = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = {};
    const key = options.apiKey === undefined ? this.apiKey : options.apiKey;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    const payload = options.rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
    if (payload !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    Object.assign(headers, options.headers);
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: payload,
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  }

  get<T = any>(path: string, expected = 200): Promise<T> {
    return this.expecting<T>(expected, 'GET', path);
  }

  post<T = any>(path: string, body: unknown, expected: number): Promise<T> {
    return this.expecting<T>(expected, 'POST', path, body);
  }

  private async expecting<T>(expected: number, method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.request<T>(method, path, body);
    if (response.status !== expected)
      throw new Error(
        `${method} ${path} answered ${response.status}, not ${expected}: ${JSON.stringify(response.body)}`,
      );
    return response.body;
  }
}

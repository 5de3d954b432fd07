import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';

/** A token request as the server received it. */
export interface TokenRequest {
  authorization: string | undefined;
  form: URLSearchParams;
}

/**
 * A real OAuth2 token endpoint (client credentials grant, RFC 6749 section 4.4) on 127.0.0.1: it checks the
 * client's credentials (HTTP Basic or form body), counts the token requests, issues `tok-<n>` with the lifetime it
 * is told, and says whether a bearer token is one it issued and has neither expired nor revoked.
 */
export class TokenServer {
  readonly requests: TokenRequest[] = [];
  /** expires_in of the tokens issued from now on, in seconds. */
  lifetimeS = 3600;
  /** An HTTP status to answer instead of a token (null: issue tokens). */
  failWith: number | null = null;
  private readonly issued = new Map<string, number>();
  private server?: Server;

  constructor(
    private readonly clientId: string,
    private readonly clientSecret: string,
  ) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void readBody(req).then((body) => {
        const form = new URLSearchParams(body);
        this.requests.push({ authorization: req.headers.authorization, form });
        const answer = (status: number, json: object) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(json));
        };
        if (this.failWith !== null) return answer(this.failWith, { error: 'temporarily_unavailable' });
        if (form.get('grant_type') !== 'client_credentials') return answer(400, { error: 'unsupported_grant_type' });
        if (!this.authenticates(req.headers.authorization, form)) return answer(401, { error: 'invalid_client' });
        const token = `tok-${this.requests.length}-${Math.random().toString(36).slice(2)}`;
        this.issued.set(token, Date.now() + this.lifetimeS * 1000);
        answer(200, { access_token: token, token_type: 'Bearer', expires_in: this.lifetimeS });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/oauth/token`;
  }

  /** Whether `Authorization: Bearer <token>` carries a live token of this server. */
  accepts(authorization: string | string[] | undefined): boolean {
    const token = typeof authorization === 'string' ? authorization.replace(/^Bearer /, '') : undefined;
    const until = token === undefined ? undefined : this.issued.get(token);
    return until !== undefined && until > Date.now();
  }

  /** Every token issued so far stops being accepted (a key rotation at the authorization server). */
  revokeAll(): void {
    this.issued.clear();
  }

  /** Every token this server issued (to look for them where they must not be). */
  tokens(): string[] {
    return [...this.issued.keys()];
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private authenticates(authorization: string | undefined, form: URLSearchParams): boolean {
    if (authorization?.startsWith('Basic ')) {
      const [id, secret] = Buffer.from(authorization.slice(6), 'base64')
        .toString('utf8')
        .split(':')
        .map((part) => decodeURIComponent(part.replace(/\+/g, ' ')));
      return id === this.clientId && secret === this.clientSecret;
    }
    return form.get('client_id') === this.clientId && form.get('client_secret') === this.clientSecret;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

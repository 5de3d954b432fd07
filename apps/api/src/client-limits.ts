import type { Server } from 'node:http';
import type { ClientLimits } from '../../../libs/config/config';

/**
 * Bounds what one HTTP client may hold: Fastify starts with no request or connection timeout, so a client that
 * sends half a request and stalls would keep its socket and buffers for ever. Node's server reads these properties
 * whenever it checks its connections, so setting them once the server exists is enough.
 */
export function limitHttpClients(server: Server, limits: ClientLimits): void {
  server.requestTimeout = limits.requestTimeoutMs;
  // Headers are part of the request: they get no longer than the whole of it.
  server.headersTimeout = Math.min(server.headersTimeout, limits.requestTimeoutMs);
  server.setTimeout(limits.connectionTimeoutMs);
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  if (limits.maxConnections > 0) server.maxConnections = limits.maxConnections;
}

/**
 * The gRPC server's counterparts: a bound on calls in flight per connection, a connection idle this long is closed
 * (a client reconnects transparently), and keepalive pings find peers that vanished without closing.
 */
export const GRPC_CLIENT_LIMITS = {
  'grpc.max_concurrent_streams': 100,
  'grpc.max_connection_idle_ms': 5 * 60_000,
  'grpc.keepalive_time_ms': 2 * 60_000,
  'grpc.keepalive_timeout_ms': 20_000,
};

import type { Client } from '@temporalio/client';
import { clientTracingInterceptors } from '../observability/tracing';

/**
 * A Temporal client that connects on its first use. The api's publish path never talks to Temporal (the worker's
 * outbox relay starts the runs), so the api loads @temporalio/client and its protobuf definitions, and the memory
 * they hold, only when an operator signals or redrives. A failed connect is not kept: the next use tries again.
 */
export class OnDemandTemporalClient {
  private client?: Promise<Client>;

  constructor(
    private readonly address: string,
    private readonly namespace: string,
  ) {}

  get(): Promise<Client> {
    this.client ??= this.connect().catch((error: unknown) => {
      this.client = undefined;
      throw error;
    });
    return this.client;
  }

  /** Closes the connection if one was made. */
  async close(): Promise<void> {
    const pending = this.client;
    this.client = undefined;
    const client = await pending?.catch(() => undefined);
    await client?.connection.close();
  }

  private async connect(): Promise<Client> {
    const { Client, Connection } = await import('@temporalio/client');
    const connection = await Connection.connect({ address: this.address });
    return new Client({ connection, namespace: this.namespace, interceptors: clientTracingInterceptors() });
  }
}

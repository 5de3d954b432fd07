import { Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { shutdownTracing } from './tracing';

@Injectable()
class TracingShutdown implements OnApplicationShutdown {
  /** After the worker has drained: the spans of the last attempts are exported before the process ends. */
  async onApplicationShutdown(): Promise<void> {
    await shutdownTracing();
  }
}

/** Flushes the spans not exported yet when the application closes (a no-op when not tracing). */
@Module({ providers: [TracingShutdown] })
export class TracingModule {}

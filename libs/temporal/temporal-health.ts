import { credentials, makeGenericClientConstructor, ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

/** The service name a Temporal frontend reports SERVING under once it takes workflow API calls. */
const WORKFLOW_SERVICE = 'temporal.api.workflowservice.v1.WorkflowService';

const HealthClient = makeGenericClientConstructor(healthService, 'Health');

interface HealthCheckClient {
  check(
    request: { service: string },
    options: { deadline: number },
    callback: (error: ServiceError | null, response?: { status: string }) => void,
  ): void;
  close(): void;
}

/**
 * Asks the Temporal frontend's standard gRPC health service (grpc.health.v1) whether it serves the workflow API.
 * The api's readiness uses this rather than a Temporal client, so an orchestrator polling /readyz does not make
 * the api load the client it otherwise loads only for operator actions.
 */
export class TemporalHealth {
  private readonly client: HealthCheckClient;

  constructor(address: string) {
    this.client = new HealthClient(address, credentials.createInsecure()) as unknown as HealthCheckClient;
  }

  /** Resolves when the frontend reports SERVING within timeoutMs; rejects naming what it got instead. */
  check(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) =>
      this.client.check({ service: WORKFLOW_SERVICE }, { deadline: Date.now() + timeoutMs }, (error, response) => {
        if (error) reject(new Error(error.details || error.message));
        else if (response?.status !== 'SERVING') reject(new Error(`the frontend reports ${response?.status}`));
        else resolve();
      }),
    );
  }

  close(): void {
    this.client.close();
  }
}

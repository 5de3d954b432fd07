import { credentials, loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { dirname, join } from 'node:path';
import { PROTO_PATH } from '../../apps/api/src/http-app';

/** A WebhooksService client generated at run time from the repository's .proto, as any gRPC user would. */
export function webhooksClient(address: string): any {
  const definition = loadSync(PROTO_PATH, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const WebhooksService = (loadPackageDefinition(definition) as any).intelliauth.webhooks.v1.WebhooksService;
  return new WebhooksService(address, credentials.createInsecure());
}

/** A server reflection client of the protocol version given, from the .proto @grpc/reflection ships. */
export function reflectionClient(address: string, version: 'v1' | 'v1alpha'): any {
  const protoPath = join(
    dirname(require.resolve('@grpc/reflection')),
    '..',
    'proto',
    'grpc',
    'reflection',
    version,
    'reflection.proto',
  );
  const definition = loadSync(protoPath, { keepCase: true, defaults: true, oneofs: true });
  const ServerReflection = (loadPackageDefinition(definition) as any).grpc.reflection[version].ServerReflection;
  return new ServerReflection(address, credentials.createInsecure());
}

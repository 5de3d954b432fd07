/**
 * `npm run openapi`: writes the OpenAPI document the api serves at /docs-json to packages/client/openapi.json and
 * the typed client's types generated from it (openapi-typescript) to packages/client/src/schema.ts. The api is
 * built in Nest's preview mode: routes and decorators only, no database or Temporal connection.
 * test/contract/openapi.spec.ts fails when either file differs from what the server serves; run this then.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppModule } from '../apps/api/src/app.module';
import { buildOpenApiDocument } from '../apps/api/src/openapi-document';
import { createHttpAdapter } from '../apps/api/src/http-app';
import { loadConfig } from '../libs/config/config';
import { projectRoot } from '../libs/config/project-root';
import { clientTypes, CLIENT_DIR } from './openapi-types';

async function main(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, createHttpAdapter(loadConfig({})), {
    preview: true,
    logger: false,
  });
  const document = buildOpenApiDocument(app as never);
  await app.close();
  const dir = join(projectRoot(), CLIENT_DIR);
  writeFileSync(join(dir, 'openapi.json'), `${JSON.stringify(document, null, 2)}\n`);
  writeFileSync(join(dir, 'src', 'schema.ts'), await clientTypes(document));
  console.log(`wrote ${CLIENT_DIR}/openapi.json and ${CLIENT_DIR}/src/schema.ts`);
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});

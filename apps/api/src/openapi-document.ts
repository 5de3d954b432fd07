import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { isDeepStrictEqual } from 'node:util';
import { WEBHOOK_HEADERS, webhooksSection } from './event-types/event-type.schemas';
import { registeredComponents } from './common/openapi';

/** Every subschema equal to a named component becomes a reference to it, so generated clients share one type per shape. */
function referenceComponents(node: unknown, components: ReadonlyMap<string, object>, skip?: object): unknown {
  if (Array.isArray(node)) return node.map((item) => referenceComponents(item, components));
  if (node === null || typeof node !== 'object') return node;
  if (node !== skip) {
    for (const [name, schema] of components)
      if (isDeepStrictEqual(node, schema)) return { $ref: `#/components/schemas/${name}` };
  }
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, referenceComponents(value, components)]));
}

/**
 * The OpenAPI 3.1 document: the routes and parameters Nest's decorators describe, the component schemas (the
 * objects the API validates and serializes with), the bearer security scheme and the webhooks the product sends.
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setOpenAPIVersion('3.1.0')
      .setTitle('IntelliAuth Webhooks')
      .setDescription(
        'Publish IntelliAuth events, manage webhook subscriptions, inspect deliveries and redrive dead letters. ' +
          'Every operation takes `Authorization: Bearer <key>`; every error answers the Error schema. ' +
          'Bodies are UTF-8 JSON: strings with NUL or unpaired surrogates, keys named `__proto__`, numbers beyond a double ' +
          'and nesting deeper than 64 levels are refused (400). ' +
          'The `webhooks` section describes what receivers get: one signed POST per event and subscription.',
      )
      .setVersion('1')
      .addBearerAuth({
        type: 'http',
        scheme: 'bearer',
        description: 'a service key (API_KEYS) or a tenant key (iaw_tk_…)',
      })
      .build(),
  );
  const components = registeredComponents();
  const schemas = Object.fromEntries(
    [...components].map(([name, schema]) => [name, referenceComponents(schema, components, schema)]),
  );
  return {
    ...(referenceComponents(document, components) as OpenAPIObject),
    components: { ...document.components, schemas: schemas as never, parameters: WEBHOOK_HEADERS as never },
    webhooks: referenceComponents(webhooksSection(), components) as never,
  } as OpenAPIObject;
}

import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the Swagger UI assets of `/?doc` are served. */
export const SWAGGER_UI_PREFIX = '/v2/doc/';

/** Serves swagger-ui-dist's files from node_modules: the docs work offline and need no CDN. */
export async function swaggerUiAssets(app: FastifyInstance): Promise<void> {
  const root = dirname(fileURLToPath(import.meta.resolve('swagger-ui-dist/package.json')));
  await app.register(fastifyStatic, {
    root,
    prefix: SWAGGER_UI_PREFIX,
    // Only files are served here (no reply.sendFile), and the web UI may have decorated the reply already.
    decorateReply: false,
    allowedPath: (path) => /^\/?[\w.-]+\.(js|css|png)$/.test(path),
    maxAge: '1h',
  });
}

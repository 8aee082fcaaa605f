import type { ResolvedSchema } from '../catalogue/schemas.ts';
import type { StreamConfig } from '../catalogue/types.ts';
import { schemaTitle, shapeTable, type ShapeTable, type TitledSchema } from './shape-table.ts';

type SchemaNamed = Pick<StreamConfig, 'name' | 'schemaTitle' | 'schemaUri'>;

/**
 * Reads the schema of every stream in the catalogue and builds the sanitizer's shape table from
 * them. A schema that cannot be read is logged and left out: its events get the structural fallback.
 */
export async function loadShapes(
  streams: readonly SchemaNamed[],
  schemas: { get(stream: SchemaNamed): Promise<ResolvedSchema | undefined> },
  warn: (fields: object, message: string) => void,
): Promise<ShapeTable> {
  const found = await Promise.all(
    streams.map(async (stream): Promise<TitledSchema | undefined> => {
      try {
        const resolved = await schemas.get(stream);
        if (resolved === undefined) return undefined;
        return { title: schemaTitle(stream.schemaTitle ?? resolved.uri), schema: resolved.schema };
      } catch (error) {
        warn({ err: error, stream: stream.name }, 'cannot read the stream schema: its events are sanitized by their structure alone');
        return undefined;
      }
    }),
  );
  return shapeTable(found.filter((schema) => schema !== undefined));
}

// Help generated from the zod schemas: every config field with its type, default and description
// (`patchgd help train`, `train --help`), and the JSON Schema editors complete run.yaml from
// (`patchgd schema`). The schemas are the one source: a field added there shows up here.
import { listBackbones, listHeads } from '@patchgd/backbones';
import { z } from 'zod';
import { runConfigSchema } from './config.js';
import type { Task } from './task.js';

/** One config field as help lists it. */
export interface FieldDoc {
  /** dotted path, e.g. `train.epochs` */
  path: string;
  /** e.g. `integer`, `adam|adamw|sgd`, `number|string` */
  type: string;
  /** the default as JSON, when there is one */
  default?: string;
  description?: string;
  required: boolean;
}

type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  default?: unknown;
  description?: string;
  [key: string]: unknown;
};

const toJson = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map(String).join('|');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.anyOf) return [...new Set(s.anyOf.map(typeOf))].join('|');
  if (Array.isArray(s.type)) return s.type.join('|');
  if (s.type === 'array') return `${s.items ? typeOf(s.items) : 'value'}[]`;
  if (s.type === 'object' && !s.properties) return 'object';
  return s.type ?? 'any';
}

function walk(s: JsonSchema, prefix: string, required: boolean, out: FieldDoc[]): void {
  for (const [key, field] of Object.entries(s.properties ?? {})) {
    const at = `${prefix}${key}`;
    const isRequired = required && (s.required ?? []).includes(key) && field.default === undefined;
    // Sections (objects with their own fields) are listed field by field.
    if (field.type === 'object' && field.properties && Object.keys(field.properties).length > 0) {
      walk(field, `${at}.`, isRequired, out);
      continue;
    }
    const empty =
      field.default !== null && typeof field.default === 'object' && Object.keys(field.default).length === 0;
    out.push({
      path: at,
      type: typeOf(field),
      ...(field.default !== undefined && !empty ? { default: JSON.stringify(field.default) } : {}),
      ...(field.description ? { description: field.description } : {}),
      required: isRequired,
    });
  }
}

/**
 * Every field of an object schema, sections flattened to dotted paths.
 *
 * @example
 * ```ts
 * configFields(runConfigSchema).find((f) => f.path === 'train.epochs'); // { type: 'integer', default: '10', … }
 * ```
 */
export function configFields(schema: z.ZodType = runConfigSchema, prefix = ''): FieldDoc[] {
  const out: FieldDoc[] = [];
  walk(toJson(schema), prefix, true, out);
  return out;
}

/** Fields as help text: `  --path <type>  (default …)` then the description, indented. */
function formatFields(fields: readonly FieldDoc[]): string {
  return fields
    .map((f) => {
      const head = `  --${f.path} <${f.type}>${f.default !== undefined ? `  (default ${f.default})` : f.required ? '  (required)' : ''}`;
      return f.description ? `${head}\n      ${f.description}` : head;
    })
    .join('\n');
}

/** The names registered now (built-ins and those of `--import`ed plug-ins) where a field takes one. */
function withRegistered(field: FieldDoc, tasks: Record<string, Task>): FieldDoc {
  if (field.path === 'task') return { ...field, type: Object.keys(tasks).join('|') };
  const names =
    field.path === 'model.backbone' ? listBackbones() : field.path === 'model.head' ? listHeads() : undefined;
  return names ? { ...field, description: `${field.description ?? ''}; registered: ${names.join(', ')}` } : field;
}

/**
 * The help of one command: summary, usage, the general flags and, for commands that read a
 * config, every config field and the `data` fields of each task.
 *
 * @example
 * ```ts
 * console.log(commandHelp('patchgd', 'train', commands.train, { folder: folderTask }));
 * ```
 */
export function commandHelp(
  program: string,
  name: string,
  command: { summary: string; usage: string; takesConfig?: boolean },
  tasks: Record<string, Task>,
): string {
  const lines = [`${program} ${name}: ${command.summary}`, '', `usage: ${program} ${command.usage}`];
  if (command.takesConfig === false) return lines.join('\n');
  lines.push(
    '',
    'Options:',
    '  --config <file>        YAML or JSON config; several are merged in order (later files win)',
    '  --import <module>      import a module first (path relative to the current directory, or a package),',
    '                         e.g. one that registers backbones, heads or samplers',
    '  --print-config         print the resolved config as YAML and exit',
    '  --quiet                plain lines instead of progress bars',
    '',
    'Config fields (in the file, or as flags):',
    formatFields(configFields().map((f) => withRegistered(f, tasks))),
  );
  for (const [taskName, task] of Object.entries(tasks)) {
    lines.push(
      '',
      `Fields of data for task: ${taskName} (${task.description}):`,
      formatFields(configFields(task.schema, 'data.')),
    );
  }
  return lines.join('\n');
}

/**
 * The JSON Schema of a run config for these tasks (draft 2020-12): `task` is one of their names
 * and `data` follows the chosen task's schema. Point an editor at it for completion in run.yaml.
 *
 * @example
 * ```ts
 * await writeFile('patchgd.schema.json', JSON.stringify(configJsonSchema({ folder: folderTask }), null, 2));
 * ```
 */
export function configJsonSchema(tasks: Record<string, Task>): Record<string, unknown> {
  const schema = toJson(runConfigSchema);
  const properties = { ...schema.properties };
  properties['task'] = { ...properties['task'], enum: Object.keys(tasks) };
  const { $schema, ...rest } = schema;
  return {
    $schema,
    title: 'PatchGD run config',
    ...rest,
    properties,
    allOf: Object.entries(tasks).map(([name, task]) => {
      const { $schema: _, ...data } = toJson(task.schema);
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keywords, a plain object never awaited
      return { if: { properties: { task: { const: name } }, required: ['task'] }, then: { properties: { data } } };
    }),
  };
}

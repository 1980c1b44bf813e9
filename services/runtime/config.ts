/**
 * Service configuration files: JSON, checked against a JSON Schema (ajv, strict, no unknown
 * fields) before anything starts, so a typo is one line naming the file and the field instead
 * of a service that starts half-configured. Paths in a configuration are relative to its file.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";

import { Ajv, type ErrorObject } from "ajv";

import { InvalidInputError } from "../../sdk/errors.ts";

const ajv = new Ajv({ allErrors: false, strict: true, useDefaults: true });

/** One line for the first schema error: the field's JSON pointer and what is wrong with it. */
export function schemaErrorText(error: ErrorObject): { field: string; problem: string } {
  const extra = (error.params as { additionalProperty?: string }).additionalProperty;
  const missing = (error.params as { missingProperty?: string }).missingProperty;
  const field =
    extra !== undefined
      ? `${error.instancePath}/${extra}`
      : missing !== undefined
        ? `${error.instancePath}/${missing}`
        : error.instancePath || "/";
  const problem =
    extra !== undefined
      ? "is not a known field"
      : missing !== undefined
        ? "is missing"
        : (error.message ?? "is invalid");
  return { field, problem };
}

/** Checks `value` against `schema`; the first problem is an `InvalidInputError` naming `source` and the field. */
export function checkAgainstSchema<T>(value: unknown, schema: object, source: string): T {
  const validate = ajv.compile(schema);
  if (!validate(value)) {
    const { field, problem } = schemaErrorText(validate.errors![0]!);
    throw new InvalidInputError(`${source}: ${field} ${problem}`, { file: source, field });
  }
  return value as T;
}

/** Reads and checks a JSON configuration file (`what` names it in errors, e.g. "station configuration"). */
export function loadConfig<T>(file: string, schema: object, what = "configuration"): T {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new InvalidInputError(
      `${file}: the ${what} file cannot be read (${(e as NodeJS.ErrnoException).code ?? "error"})`,
      {
        file,
      },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new InvalidInputError(`${file}: the ${what} is not JSON (${(e as Error).message})`, { file });
  }
  return checkAgainstSchema<T>(value, schema, file);
}

/** A path from a configuration file, relative to that file's folder. */
export function resolvePath(configFile: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dirname(configFile), path);
}

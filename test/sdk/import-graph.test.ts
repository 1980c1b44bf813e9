/**
 * The SDK's import graph keeps its shape: no cycles anywhere, a pure `core/` that imports no
 * adapter, role or I/O module, entry points that only re-export, and a proof-bundle verifier a
 * browser can load. Read from the sources.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

import { expect } from "chai";

const SDK = path.resolve(import.meta.dirname, "../../sdk");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sources(full) : name.endsWith(".ts") ? [full] : [];
  });
}

/** The modules `file` imports or re-exports (relative ones resolved, bare ones as written). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/g)].map((m) => m[1]!);
  specifiers.push(...[...text.matchAll(/import\("([^"]+)"\)/g)].map((m) => m[1]!));
  return specifiers.map((s) => (s.startsWith(".") ? path.resolve(path.dirname(file), s) : s));
}

/** The modules `file` loads when it runs: its imports and re-exports, type-only ones left out. */
function runtimeImportsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:^|\n)\s*(import|export)\s(?!type\s)[^;]*?from\s+"([^"]+)"/g)].map((m) => {
    const s = m[2]!;
    return s.startsWith(".") ? path.resolve(path.dirname(file), s) : s;
  });
}

const files = sources(SDK);
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const rel = (f: string): string => path.relative(SDK, f);

describe("the SDK's import graph", () => {
  it("has no cycle", () => {
    const state = new Map<string, "open" | "done">();
    const cycles: string[] = [];
    const visit = (file: string, trail: string[]): void => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "open") {
        cycles.push([...trail.slice(trail.indexOf(file)), file].map(rel).join(" -> "));
        return;
      }
      state.set(file, "open");
      for (const next of graph.get(file) ?? []) if (graph.has(next)) visit(next, [...trail, file]);
      state.set(file, "done");
    };
    for (const file of files) visit(file, []);
    expect(cycles).to.deep.equal([]);
  });

  it("keeps core/ pure: no adapter, role, store or I/O module", () => {
    const impure = files
      .filter((f) => rel(f).startsWith("core/"))
      .flatMap((f) =>
        (graph.get(f) ?? [])
          .filter(
            (target) =>
              /^node:(sqlite|fs|net|http|https|dgram|child_process)/.test(target) ||
              (path.isAbsolute(target) && /^(contracts|store|nbiot|fog|layers|exports)\//.test(rel(target))),
          )
          .map((target) => `${rel(f)} imports ${path.isAbsolute(target) ? rel(target) : target}`),
      );
    expect(impure).to.deep.equal([]);
  });

  it("has entry points that only re-export", () => {
    for (const file of [path.join(SDK, "index.ts"), ...sources(path.join(SDK, "exports"))]) {
      const code = readFileSync(file, "utf8")
        .replace(/\/\*[\s\S]*?\*\//g, "")
        .replace(/export\s+(type\s+)?\{[^}]*\}\s+from\s+"[^"]+";/g, "")
        .trim();
      expect(code, rel(file)).to.equal("");
    }
  });

  it("lets a browser load the proof-bundle verifier: no Node built-in or native module on the anchoring entry's path", () => {
    const seen = new Set<string>();
    const outside: string[] = [];
    const visit = (file: string, trail: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const target of runtimeImportsOf(file)) {
        if (path.isAbsolute(target)) visit(target, `${trail} -> ${rel(target)}`);
        else if (/^node:|^@chainsafe\/blst/.test(target)) outside.push(`${trail} imports ${target}`);
      }
    };
    for (const entry of ["exports/anchoring.ts", "core/bundle/offline.ts", "contracts/bundle.ts"]) {
      visit(path.join(SDK, entry), entry);
    }
    expect(outside).to.deep.equal([]);
  });
});

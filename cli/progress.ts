/**
 * Progress on long work (hashing many records, sending, writing bundles): ora's spinner on
 * stderr, shown only on a terminal and never with `--json`, so scripts and logs get none.
 */
import ora, { type Ora } from "ora";

import type { Context } from "./program.ts";

export interface Progress {
  step(text: string): void;
  done(text?: string): void;
  fail(): void;
}

export function progress(ctx: Context, text: string): Progress {
  const enabled = ctx.interactive() && process.stderr.isTTY === true;
  const spinner: Ora | undefined = enabled ? ora({ text, stream: process.stderr }).start() : undefined;
  return {
    step: (t) => {
      if (spinner) spinner.text = t;
    },
    done: (t) => {
      spinner?.succeed(t);
    },
    fail: () => {
      spinner?.stop();
    },
  };
}

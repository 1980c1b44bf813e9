import { TimeoutError } from "../errors.ts";

/** Waiting on another party: `work`, or a rejection after `ms` milliseconds when it does not settle. */
export function withTimeout<T>(
  work: Promise<T>,
  ms: number,
  onTimeout: () => Error = () => new TimeoutError(`no answer within ${ms} ms`, { ms }),
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The registry view the NB-IoT roles use: `registryDirectory` maps status None
 * to "not registered", and `cachedDirectory` remembers answers for its TTL.
 */
import { expect } from "chai";

import { Kind, Status } from "../../../sdk/core/registry.ts";
import { cachedDirectory, registryDirectory } from "../../../sdk/nbiot/ports.ts";
import { randomId } from "../../helpers/nbiot.ts";

describe("nbiot ports", function () {
  it("registryDirectory reports unregistered ids as undefined and others by kind and status", async function () {
    const known = randomId();
    const dir = registryDirectory(
      {
        getDevice: (id) =>
          Promise.resolve(
            id === known
              ? { kind: Kind.BaseStation, status: Status.Active }
              : { kind: Kind.Device, status: Status.None },
          ),
      },
      { ttlMs: 0 },
    );
    expect(await dir.lookup(known)).to.deep.equal({ kind: Kind.BaseStation, status: Status.Active });
    expect(await dir.lookup(randomId())).to.equal(undefined);
  });

  it("cachedDirectory answers from memory within the TTL and asks again after it", async function () {
    let reads = 0;
    let clock = 0;
    const id = randomId();
    const dir = cachedDirectory(
      () => {
        reads++;
        return Promise.resolve({ kind: Kind.Device, status: reads === 1 ? Status.Active : Status.Blocked });
      },
      { ttlMs: 1000, clock: () => clock },
    );
    expect((await dir.lookup(id))?.status).to.equal(Status.Active);
    clock = 999;
    expect((await dir.lookup(id.toUpperCase().replace("0X", "0x") as typeof id))?.status).to.equal(Status.Active);
    expect(reads).to.equal(1);
    clock = 1000;
    expect((await dir.lookup(id))?.status).to.equal(Status.Blocked);
    expect(reads).to.equal(2);
  });
});

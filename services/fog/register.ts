/**
 * A dealt fog cluster registered in `DataAnchor` (seed 004, issue 15): the group key, threshold
 * and members of the folder `strata fog deal` wrote, every member's approval (their registry
 * keys) and a proof of possession of the group key combined from the members' sealed shares,
 * sent by the cluster's registry key through `FogCluster.register`. The one way a dealt cluster
 * is registered: `strata fog register`, the local deployment and the tests all call it.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

import type { Signer } from "ethers";

import type { Hex } from "../../sdk/core/bytes.ts";
import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { ThresholdScheme } from "../../sdk/core/crypto/threshold.ts";
import { FOG_POSSESSION_DST, possessionMessage } from "../../sdk/core/fogBatch.ts";
import type { DataAnchorClient } from "../../sdk/contracts/anchor.ts";
import { InvalidInputError } from "../../sdk/errors.ts";
import { type ClusterRegistration, FogCluster, type FogMember } from "../../sdk/fog/cluster.ts";
import { commitmentsOf, memberFile, openMember, readPublic } from "./keys.ts";

export interface DealtRegistration {
  /** The public file `strata fog deal` wrote; the members' sealed files are read from its folder. */
  readonly publicFile: string;
  /** The passphrase the members' files are sealed under. */
  readonly passphrase: string;
  /** The cluster's registry id. */
  readonly cluster: Hex;
  /** The members' registry ids in share order: `members[i]` holds share i + 1. */
  readonly members: readonly Hex[];
  /** A `DataAnchor` client; the chain's id is read from it. */
  readonly client: DataAnchorClient;
  /** The cluster's registry key: it sends the registration. */
  readonly clusterKey: Signer;
  /** Each member's registry key, in share order: each approves the cluster's key. */
  readonly memberKeys: readonly Signer[];
  /** Register a cluster the chain holds with another key at the next epoch (a re-dealt key). */
  readonly rekey?: boolean;
}

/**
 * Registers the cluster dealt with `r.publicFile`. The public file's member count must match `r.members`;
 * each member's sealed share present in the folder signs its share of the proof (t are needed).
 * Idempotent as `FogCluster.register` is: `sent: false` when the chain holds this registration
 * already; `ClusterRegistrationConflictError` when it holds another (unless `rekey`).
 */
export async function registerDealt(r: DealtRegistration): Promise<ClusterRegistration> {
  const { publicFile } = r;
  const pub = readPublic(publicFile);
  if (pub.members !== r.members.length || r.memberKeys.length !== r.members.length) {
    throw new InvalidInputError(
      `${publicFile}: the cluster was dealt for ${pub.members} members, ${r.members.length} given`,
      { file: publicFile, dealt: pub.members, members: r.members.length, keys: r.memberKeys.length },
    );
  }
  const backend = await mclBackend();
  const scheme = new ThresholdScheme(backend);
  const commitments = commitmentsOf(backend, pub);
  const members: FogMember[] = r.members.map((id, i) => {
    const file = join(dirname(publicFile), memberFile(i + 1));
    const share = existsSync(file) ? openMember(backend, file, r.passphrase, commitments).share : undefined;
    return {
      index: i + 1,
      id,
      endorse: () => Promise.reject(new Error("a registration endorses no batch")),
      ...(share === undefined
        ? {}
        : {
            signPossession: (groupKey: Uint8Array) =>
              Promise.resolve(scheme.partialSign(share, possessionMessage(groupKey), FOG_POSSESSION_DST)),
          }),
    };
  });
  const { chainId } = await r.client.domain();
  const fog = new FogCluster({
    id: r.cluster,
    deployment: { chainId: BigInt(chainId!), anchor: r.client.address },
    commitments,
    scheme,
    members,
    anchor: r.client,
  });
  return fog.register({
    client: r.client,
    clusterKey: r.clusterKey,
    memberKeys: r.memberKeys,
    ...(r.rekey === undefined ? {} : { rekey: r.rekey }),
  });
}

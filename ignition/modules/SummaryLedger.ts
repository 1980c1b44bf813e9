/**
 * Deploys the ledger of one high-level layer (seed 003). Parameter: beginning,
 * the beginning block `{ layerId, consensus, members: [{ node, publicKey,
 * proofOfPossession }], subordinates: [{ layerId, ledger, chainId }], superior }`
 * (keys and proofs in EIP-2537 encoding, hex).
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

export default buildModule("SummaryLedger", (m) => {
  const beginning = m.getParameter("beginning");
  const ledger = m.contract("SummaryLedger", [beginning]);
  return { ledger };
});

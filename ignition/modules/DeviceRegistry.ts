/**
 * Deploys the device registry. Parameters (defaults in brackets):
 * admin [deployer], fullNodeApprovals k [2], reportPenalty [150],
 * suspendBelow [600], blockBelow [300], epochLength s [3600],
 * heartbeatTimeout s [900].
 * reportPenalty must be at most 1000 - suspendBelow (one report never suspends); each
 * independent reporter counts once per trust case, a case closes after epochLength seconds
 * without a report, and k coordination nodes take a beating full node offline.
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

import { DEFAULT_REGISTRY_RULES } from "../../sdk/contracts/deploy.ts";

export const DEFAULT_REGISTRY_CONFIG = DEFAULT_REGISTRY_RULES;

export default buildModule("DeviceRegistry", (m) => {
  const admin = m.getParameter("admin", m.getAccount(0));
  const config = {
    fullNodeApprovals: m.getParameter("fullNodeApprovals", DEFAULT_REGISTRY_CONFIG.fullNodeApprovals),
    reportPenalty: m.getParameter("reportPenalty", DEFAULT_REGISTRY_CONFIG.reportPenalty),
    suspendBelow: m.getParameter("suspendBelow", DEFAULT_REGISTRY_CONFIG.suspendBelow),
    blockBelow: m.getParameter("blockBelow", DEFAULT_REGISTRY_CONFIG.blockBelow),
    epochLength: m.getParameter("epochLength", DEFAULT_REGISTRY_CONFIG.epochLength),
    heartbeatTimeout: m.getParameter("heartbeatTimeout", DEFAULT_REGISTRY_CONFIG.heartbeatTimeout),
  };
  const registry = m.contract("DeviceRegistry", [admin, config]);
  return { registry };
});

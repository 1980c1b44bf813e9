/**
 * Deploys the data anchor. Parameter: registry, the address of the deployed
 * DeviceRegistry that authenticates gateways (required).
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

export default buildModule("DataAnchor", (m) => {
  const registry = m.getParameter<string>("registry");
  const anchor = m.contract("DataAnchor", [registry]);
  return { anchor };
});

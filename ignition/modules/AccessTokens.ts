/**
 * Deploys the Secuchain access tokens (seed 004 §IV). Parameter: registry,
 * the address of the deployed DeviceRegistry whose owners mint tokens for
 * their resources (required; immutable once deployed).
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

export default buildModule("AccessTokens", (m) => {
  const registry = m.getParameter<string>("registry");
  const accessTokens = m.contract("AccessTokens", [registry]);
  return { accessTokens };
});

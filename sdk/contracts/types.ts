/**
 * The typed ethers contracts the clients hold (`client.contract`), from the committed TypeChain
 * bindings in `types/`: named here so apps can name them. Types only; nothing loads at run time.
 */
export type { AccessTokens as AccessTokensContract } from "../../types/ethers-contracts/access/AccessTokens.ts";
export type { DataAnchor as DataAnchorContract } from "../../types/ethers-contracts/anchoring/DataAnchor.ts";
export type { DeviceRegistry as DeviceRegistryContract } from "../../types/ethers-contracts/registry/DeviceRegistry.ts";
export type { SummaryLedger as SummaryLedgerContract } from "../../types/ethers-contracts/ledger/SummaryLedger.ts";

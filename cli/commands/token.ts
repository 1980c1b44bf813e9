/**
 * `strata token mint|shift|hand-over|return|revoke|show` and `strata access check`: owner-only
 * access tokens with shifts (`AccessTokens`).
 */
import type { Command } from "commander";

import { fromHex, type Hex } from "../../sdk/index.ts";
import { AccessTokensClient } from "../../sdk/exports/access.ts";
import { type Bound, tokenIdOf, withContract } from "../contracts.ts";
import type { Context } from "../program.ts";
import { parseTime, SHIFT_TIME } from "../time.ts";

const clientOf = (b: Bound): AccessTokensClient =>
  new AccessTokensClient(b.address, b.runner, { chainId: b.chain.chainId, deploymentBlock: b.block });

const when = (seconds: bigint): string => new Date(Number(seconds) * 1000).toISOString();

export function tokenCommands(program: Command, ctx: Context): void {
  const token = program.command("token").description("access tokens: an owner's device, used in shifts");

  token
    .command("mint")
    .description("mint an access token for a device you own in the registry")
    .argument("<resource>", "the device id")
    .requiredOption("--key <name>", "the device owner's key")
    .addHelpText("after", "\nExample:\n  $ strata token mint 0x… --key owner")
    .action(async (resource: string, o: { key: string }) => {
      fromHex(resource, "resource", 32);
      const r = await withContract(ctx, "AccessTokens", o.key, (b) => clientOf(b).mint(resource as Hex));
      ctx.done({ json: { tokenId: r.tokenId, transaction: r.hash }, lines: [`minted token ${r.tokenId} (${r.hash})`] });
    });

  token
    .command("shift")
    .description("schedule a holder's shift on a token")
    .argument("<token>", "the token id")
    .requiredOption("--holder <account>", "who holds the shift")
    .requiredOption("--from <time>", "its start: unix seconds, ISO 8601 date-time with Z or offset, now, +N[smhd]")
    .requiredOption("--until <time>", "its end")
    .requiredOption("--key <name>", "the token owner's key")
    .addHelpText("after", "\nExample:\n  $ strata token shift 1 --holder 0x… --from now --until +8h --key owner")
    .action(async (id: string, o: { holder: string; from: string; until: string; key: string }) => {
      const tokenId = tokenIdOf(id);
      const [from, until] = [parseTime(o.from, "--from", SHIFT_TIME), parseTime(o.until, "--until", SHIFT_TIME)];
      const r = await withContract(ctx, "AccessTokens", o.key, (b) =>
        clientOf(b).scheduleShift(tokenId, o.holder, from, until),
      );
      ctx.done({
        json: { tokenId, shift: r.shift, transaction: r.hash },
        lines: [`token ${tokenId}: ${r.shift.holder} from ${when(r.shift.start)} until ${when(r.shift.end)}`],
      });
    });

  token
    .command("hand-over")
    .addHelpText("after", "\nExample:\n  $ strata token hand-over 1 --to 0xRelief… --until +8h --key operator")
    .description("hand the token over now: the current shift ends, the new holder's runs until --until")
    .argument("<token>", "the token id")
    .requiredOption("--to <account>", "the new holder")
    .requiredOption("--until <time>", "the end of the new shift")
    .requiredOption("--key <name>", "the token owner's key")
    .action(async (id: string, o: { to: string; until: string; key: string }) => {
      const tokenId = tokenIdOf(id);
      const until = parseTime(o.until, "--until", SHIFT_TIME);
      const r = await withContract(ctx, "AccessTokens", o.key, (b) => clientOf(b).handOver(tokenId, o.to, until));
      ctx.done({
        json: { tokenId, previousHolder: r.previousHolder ?? null, shift: r.shift, transaction: r.hash },
        lines: [`token ${tokenId} handed over to ${r.shift.holder} until ${when(r.shift.end)}`],
      });
    });

  token
    .command("return")
    .addHelpText("after", "\nExample:\n  $ strata token return 1 --key crew-3")
    .description("the current holder gives the token back to the owner now")
    .argument("<token>", "the token id")
    .requiredOption("--key <name>", "the current holder's key")
    .action(async (id: string, o: { key: string }) => {
      const tokenId = tokenIdOf(id);
      const r = await withContract(ctx, "AccessTokens", o.key, (b) => clientOf(b).returnToOwner(tokenId));
      ctx.done({ json: { tokenId, transaction: r.hash }, lines: [`token ${tokenId} returned to its owner`] });
    });

  token
    .command("revoke")
    .addHelpText("after", "\nExample:\n  $ strata token revoke 1 --key operator")
    .description("revoke a token for good (every shift ends now)")
    .argument("<token>", "the token id")
    .requiredOption("--key <name>", "the token owner's key")
    .action(async (id: string, o: { key: string }) => {
      const tokenId = tokenIdOf(id);
      const r = await withContract(ctx, "AccessTokens", o.key, (b) => clientOf(b).revoke(tokenId));
      ctx.done({ json: { tokenId, transaction: r.hash }, lines: [`token ${tokenId} revoked`] });
    });

  token
    .command("show")
    .addHelpText("after", "\nExample:\n  $ strata token show 1 --json")
    .description("a token's resource, owner, current shift and upcoming shifts")
    .argument("<token>", "the token id")
    .action(async (id: string) => {
      const tokenId = tokenIdOf(id);
      const { state, shifts } = await withContract(ctx, "AccessTokens", undefined, async (b) => ({
        state: await clientOf(b).currentShift(tokenId),
        shifts: await clientOf(b).shifts(tokenId),
      }));
      ctx.done({
        json: { ...state, shifts },
        lines: [
          `token ${tokenId}: resource ${state.resource}, owner ${state.owner}${state.revoked ? ", REVOKED" : ""}`,
          ...shifts.map((s) => `  ${s.holder} from ${when(s.start)} until ${when(s.end)}`),
        ],
      });
    });

  program
    .command("access")
    .description("access checks")
    .command("check")
    .addHelpText("after", "\nExample:\n  $ strata access check 0x… 0xCrew… --json")
    .description("whether an account holds the current shift of a live token for a device")
    .argument("<resource>", "the device id")
    .argument("<account>", "the account")
    .action(async (resource: string, account: string) => {
      fromHex(resource, "resource", 32);
      const granted = await withContract(ctx, "AccessTokens", undefined, (b) =>
        clientOf(b).hasAccess(resource as Hex, account),
      );
      ctx.done({ json: { resource, account, access: granted }, lines: [granted ? "access: yes" : "access: no"] });
    });
}

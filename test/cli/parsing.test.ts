/**
 * The command's pure parsers, without a chain: times (strict, in bigints) and batch files (RFC 4180
 * CSV, JSON without lost precision), each refusal naming the option, or the file, row and column.
 */
import { expect } from "chai";

import { parseBatch, parseCsv } from "../../cli/batch.ts";
import { parseTime, SHIFT_TIME } from "../../cli/time.ts";
import { InvalidInputError } from "../../sdk/index.ts";

/** The one-line message of the `InvalidInputError` that `work` throws. */
const refusal = (work: () => unknown): string => {
  try {
    work();
  } catch (error) {
    expect(error).to.be.instanceOf(InvalidInputError);
    return (error as InvalidInputError).shortMessage;
  }
  return expect.fail("not refused");
};
const refused = (work: () => unknown, message: RegExp) => expect(refusal(work)).to.match(message);

describe("the strata command's parsers", () => {
  describe("parseTime", () => {
    const now = 1_800_000_000n;
    const at = (value: string) => parseTime(value, "--at", undefined, now);

    it("reads unix seconds, now, +N with or without a unit, and ISO 8601 date-times with Z or an offset", () => {
      expect(at("0")).to.equal(0n);
      expect(at("1796637600")).to.equal(1796637600n);
      expect(at("18446744073709551615")).to.equal(2n ** 64n - 1n);
      expect(at("now")).to.equal(now);
      expect(at("+90")).to.equal(now + 90n);
      expect(at("+2h")).to.equal(now + 7200n);
      expect(at("+3d")).to.equal(now + 3n * 86400n);
      expect(at("2026-12-07T10:00:00Z")).to.equal(1796637600n);
      expect(at("2026-12-07T12:00:00+02:00")).to.equal(1796637600n);
      expect(at("2026-12-07T04:30:00-05:30")).to.equal(1796637600n);
      expect(at("2026-12-07T10:00Z")).to.equal(1796637600n);
      expect(at("2026-12-07T10:00:00.000Z")).to.equal(1796637600n);
      expect(at("1970-01-01T00:00:00Z")).to.equal(0n);
      expect(at("2000-02-29T23:59:59Z")).to.equal(BigInt(Date.UTC(2000, 1, 29, 23, 59, 59) / 1000));
      expect(at("9999-12-31T23:59:59Z")).to.equal(253402300799n);
    });

    it("refuses anything else, naming the option and the value", () => {
      for (const value of [
        "2026-12-07",
        "2026-12-07T10:00:00",
        "2026-12-07 10:00:00Z",
        "2026-12-07t10:00:00z",
        "2026-12-07T10:00:00+0200",
        "2026-12-07T10:00:00+02",
        "1.5",
        "-5",
        "1e9",
        " 5",
        "+",
        "+5w",
        "-1h",
        "0x10",
        "12/25/2030",
        "Dec 25 2030",
        "",
      ]) {
        const message = refusal(() => at(value));
        expect(message).to.match(/^--at: expected unix seconds, an ISO 8601 date-time with Z or an offset/);
        expect(message.endsWith(`, got ${JSON.stringify(value)}`), message).to.equal(true);
      }
      refused(() => at("2026-12-07T10:00:00.5Z"), /^--at: times are whole seconds/);
      refused(() => at("2026-02-29T10:00:00Z"), /^--at: day 29 does not exist in 2026-02/);
      refused(() => at("2026-04-31T10:00:00Z"), /day 31 does not exist/);
      refused(() => at("2026-13-01T10:00:00Z"), /month 13 does not exist/);
      refused(() => at("2026-00-01T10:00:00Z"), /month 0 does not exist/);
      refused(() => at("2026-12-07T24:00:00Z"), /time of day is out of range/);
      refused(() => at("2026-12-07T10:60:00Z"), /time of day is out of range/);
      refused(() => at("2026-12-07T10:00:60Z"), /time of day is out of range/);
      refused(() => at("2026-12-07T10:00:00+24:00"), /offset is out of range/);
      refused(() => at("1969-12-31T23:59:59Z"), /before 1970-01-01T00:00:00Z/);
      refused(() => at("1970-01-01T00:00:00+00:01"), /before 1970/);
      refused(() => at("18446744073709551616"), /larger than a uint64 time holds \(at most 18446744073709551615\)/);
      refused(() => at("+18446744073709551615"), /larger than a uint64 time holds/);
    });

    it("keeps a time within the field the caller names", () => {
      expect(parseTime("1099511627775", "--until", SHIFT_TIME)).to.equal(2n ** 40n - 1n);
      refused(
        () => parseTime("1099511627776", "--until", SHIFT_TIME),
        /^--until: larger than a shift time \(uint40\) holds \(at most 1099511627775\), got "1099511627776"$/,
      );
      refused(() => parseTime("+40000000d", "--until", SHIFT_TIME), /^--until: larger than a shift time/);
    });
  });

  describe("parseCsv (RFC 4180)", () => {
    const cells = (text: string) => parseCsv(text, "f.csv").map((r) => [r.line, ...r.cells]);

    it("reads plain and quoted fields: commas, doubled quotes and line breaks inside quotes", () => {
      expect(cells("a,b\n1,2\n")).to.deep.equal([
        [1, "a", "b"],
        [2, "1", "2"],
      ]);
      expect(cells('a,b\r\n"x, y","say ""hi"""\r\n')).to.deep.equal([
        [1, "a", "b"],
        [2, "x, y", 'say "hi"'],
      ]);
      expect(cells('a,b\n"two\nlines",2\n3,4')).to.deep.equal([
        [1, "a", "b"],
        [2, "two\nlines", "2"],
        [4, "3", "4"],
      ]);
      expect(cells('a,b\n"",\n')).to.deep.equal([
        [1, "a", "b"],
        [2, "", ""],
      ]);
      expect(cells('\uFEFF"a",b\n\n  \n1,2')).to.deep.equal([
        [1, "a", "b"],
        [4, "1", "2"],
      ]);
      expect(cells("")).to.deep.equal([]);
    });

    it("refuses a stray quote, text after a closing quote and a quote never closed, naming the row", () => {
      refused(() => parseCsv('a,b\n1,x"y\n', "f.csv"), /^f\.csv row 2: a quote inside an unquoted field/);
      refused(() => parseCsv('a,b\n1," x" \n', "f.csv"), /^f\.csv row 2: text after a closing quote/);
      refused(() => parseCsv('a,b\n1,"x\n\n', "f.csv"), /^f\.csv row 2: a quoted field is never closed/);
      refused(() => parseCsv('a,b\n1, "x"\n', "f.csv"), /^f\.csv row 2: a quote inside an unquoted field/);
    });
  });

  describe("parseBatch", () => {
    it("reads CSV and JSON rows with their defaults, rows numbered as the file shows them", () => {
      const rows = parseBatch('key,local_id,class\n\ns1,7,"Device/Air"\ns2,8,\n', "f.csv");
      expect(rows.map((r) => [r.row, r.key, r.localId, r.kind, r.label, r.class, r.permissions])).to.deep.equal([
        [3, "s1", 7n, "device", "lightweight", "Device/Air", 1],
        [4, "s2", 8n, "device", "lightweight", "device", 1],
      ]);
      const json = parseBatch(
        '[{"key":"s1","local_id":"123456789012345678901234567890"},{"key":"s2","localId":9007199254740991,"permissions":4294967295}]',
        "f.json",
      );
      expect(json.map((r) => [r.row, r.localId, r.permissions])).to.deep.equal([
        [1, 123456789012345678901234567890n, 1],
        [2, 9007199254740991n, 4294967295],
      ]);
    });

    it("refuses two rows for one local_id, a number JSON cannot hold exactly, and permissions beyond a uint32", () => {
      refused(
        () => parseBatch("key,local_id\ns1,7\ns2,8\ns3,07\n", "f.csv"),
        /^f\.csv rows 2 and 4: the same local_id 7$/,
      );
      refused(
        () => parseBatch('[{"key":"s1","local_id":9007199254740993}]', "f.json"),
        /^f\.json row 1, local_id: .*precision/,
      );
      refused(
        () => parseBatch('[{"key":"s1","local_id":1,"permissions":4294967296}]', "f.json"),
        /^f\.json row 1, permissions: expected an integer from 0 to 4294967295, got 4294967296$/,
      );
      refused(() => parseBatch("key,local_id,permissions\ns1,1,-1\n", "f.csv"), /^f\.csv row 2, permissions/);
      refused(
        () => parseBatch('[{"key":"s1","local_id":1.5}]', "f.json"),
        /^f\.json row 1, local_id: expected an integer/,
      );
      refused(() => parseBatch('[{"key":true,"local_id":1}]', "f.json"), /^f\.json row 1, key: expected a string/);
      refused(() => parseBatch('[{"key":"s1","local_id":1}, 5]', "f.json"), /^f\.json row 2: expected an object/);
      refused(() => parseBatch("key,local_id\ns1,1,2\n", "f.csv"), /^f\.csv row 2: 3 cells, the header has 2$/);
      refused(() => parseBatch("key,local_id,key\ns1,1,2\n", "f.csv"), /column key appears twice/);
      refused(() => parseBatch(`key,local_id\ns1,${2n ** 256n}\n`, "f.csv"), /^f\.csv row 2, local_id/);
      refused(() => parseBatch("key,local_id\n", "f.csv"), /no devices/);
      refused(() => parseBatch("[]", "f.json"), /no devices/);
    });
  });
});

// C's printf("%.17g"), which Lua's string.format uses: the form in which the Lua merge
// (lua.ts) writes the floats of a packed string, so that the TypeScript model of that merge
// (merge.ts) can produce the very same string. Not needed on the write path: a delta's floats
// may be written in any form that reads back exactly (String(x) does).

/**
 * x as C's printf("%.17g") (and so Lua's string.format) writes it: 17 significant digits
 * rounded half to even, trailing zeros dropped, an exponent (two digits at least) below 1e-4
 * or from 1e17 on. Reads back as exactly x.
 */
export function formatG17(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e17) return Object.is(x, -0) ? "-0" : String(x);
  if (!Number.isFinite(x)) return x > 0 ? "inf" : x < 0 ? "-inf" : "nan";
  const magnitude = Math.abs(x);
  // toExponential rounds a tie up; C rounds it to even. A tie needs the exact value to have 18
  // significant digits ending in 5, so check the 18-digit form exactly when it ends so.
  const [m17, e17] = magnitude.toExponential(16).split("e") as [string, string];
  let digits = m17.replace(".", "");
  let exp = Number(e17);
  const [m18, e18] = magnitude.toExponential(17).split("e") as [string, string];
  if (m18.endsWith("5") && isExactly(magnitude, m18.replace(".", ""), Number(e18))) {
    const truncated = m18.replace(".", "").slice(0, 17);
    if (Number(truncated[16]) % 2 === 0) {
      digits = truncated;
      exp = Number(e18);
    }
  }
  digits = digits.replace(/0+$/, "");
  let out: string;
  if (exp < -4 || exp >= 17) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    out = `${mantissa}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  } else if (exp < 0) {
    out = `0.${"0".repeat(-exp - 1)}${digits}`;
  } else {
    const whole = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
    const fraction = digits.slice(exp + 1);
    out = fraction ? `${whole}.${fraction}` : whole;
  }
  return x < 0 ? `-${out}` : out;
}

/** True when the decimal digits·10^(exp − digits.length + 1) equal the double x (> 0) exactly. */
function isExactly(x: number, digits: string, exp: number): boolean {
  // x = mantissa·2^binExp with an integer mantissa: scale by powers of two, exact in doubles.
  let binExp = 0;
  let mantissa = x;
  while (!Number.isInteger(mantissa)) {
    mantissa *= 2;
    binExp--;
  }
  const decExp = exp - digits.length + 1;
  const left = BigInt(digits) * 10n ** BigInt(Math.max(decExp, 0)) * 2n ** BigInt(-binExp);
  const right = BigInt(mantissa) * 10n ** BigInt(Math.max(-decExp, 0));
  return left === right;
}

// Seeded randomness, so every run feeds both libraries the same label values and observations.
// The generator itself is the project's shared one (tools/prng.ts).

import { mulberry32 } from "../../tools/prng.ts";

export { mulberry32 };

/** Fisher–Yates with a seeded generator. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

import { checkInteger, OptionError, Rng } from '@patchgd/core';
import { writeAtomic } from '@patchgd/core/node';

class SamplerOptionError extends OptionError {
  name = 'SamplerOptionError';
}
try {
  checkInteger('patchesPerStep', 0, 1, undefined, SamplerOptionError);
} catch (error) {
  console.log(`${error.name}: ${error.message}`); // Expected … for patchesPerStep but received 0
}

const rng = new Rng(42);
console.log(rng.next(), rng.nextInt(10), rng.normal(), rng.permutation(8));
const saved = rng.stateDict(); // restores the sequence exactly
await writeAtomic('rng.json', JSON.stringify({ saved }));

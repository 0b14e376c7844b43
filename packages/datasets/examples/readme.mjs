import { loadMnist, ultraMnistLayout, ultraMnistSample } from '@patchgd/datasets';

const s = ultraMnistSample(0, { split: 'train', size: 512, seed: 1, noise: true });
console.log(s.label === s.digits.reduce((sum, d) => sum + d.digit, 0)); // true; s.pixels: 512² floats in [0, 1]
const { digits } = ultraMnistLayout(0, { split: 'train', size: 512, seed: 1 }); // the same digits, no pixels
console.log(digits.length, loadMnist('test').count); // 3–5 digits; 10 000 test digits, 28 × 28 bytes each

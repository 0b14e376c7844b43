import { ClassificationMetrics, reportScalars } from '@patchgd/metrics';

const metrics = new ClassificationMetrics({ numClasses: 3, logits: true });
// two validation batches: logits row-major [n, 3] and the true classes
metrics.update({ data: Float32Array.from([2, 0, 0, 0, 3, 1, 0, 1, 2]), numClasses: 3 }, Int32Array.from([0, 1, 2]));
metrics.update({ data: Float32Array.from([0, 2, 1, 1, 0, 3]), numClasses: 3 }, Int32Array.from([1, 0]));
const report = metrics.compute();
console.log(report.accuracy, report.macro.f1, report.quadraticKappa);
console.log(reportScalars(report));

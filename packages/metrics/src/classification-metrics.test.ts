import { describe, expect, it } from 'vitest';
import { MetricsOptionError, MetricsStateError } from './errors.js';
import { ClassificationMetrics, reportScalars } from './classification-metrics.js';
import { expectedCalibrationError } from './calibration.js';
import { rocAuc } from './roc-auc.js';

// Four samples over three ordinal classes; argmax predictions are [0, 2, 2, 1], targets [0, 1, 2, 2]
// (the QWK example of kappa.test.ts: κ = 0.2, linear 3/7, quadratic 7/11).
const rows = [
  [0.8, 0.1, 0.1],
  [0.1, 0.2, 0.7],
  [0.2, 0.2, 0.6],
  [0.3, 0.4, 0.3],
];
const target = [0, 1, 2, 2];

describe('ClassificationMetrics', () => {
  it('reports every metric of a scored run', () => {
    const metrics = new ClassificationMetrics({ numClasses: 3, bins: 5 });
    metrics.update(rows.slice(0, 2), target.slice(0, 2));
    metrics.update({ data: new Float64Array(rows.slice(2).flat()), numClasses: 3 }, target.slice(2));
    const r = metrics.compute();
    expect(r.count).toBe(4);
    expect(r.numClasses).toBe(3);
    expect(r.accuracy).toBe(0.5);
    expect(r.confusionMatrix).toEqual([
      [1, 0, 0],
      [0, 0, 1],
      [0, 1, 1],
    ]);
    expect(r.kappa).toBeCloseTo(0.2, 12);
    expect(r.linearKappa).toBeCloseTo(3 / 7, 12);
    expect(r.quadraticKappa).toBeCloseTo(7 / 11, 12);
    // class 0: P 1, R 1; class 1: P 0/1, R 0/1; class 2: P 1/2, R 1/2
    expect(r.precision).toEqual([1, 0, 0.5]);
    expect(r.recall).toEqual([1, 0, 0.5]);
    expect(r.f1).toEqual([1, 0, 0.5]);
    expect(r.support).toEqual([1, 1, 2]);
    expect(r.macro.f1).toBeCloseTo(0.5, 12);
    expect(r.weighted.f1).toBeCloseTo((1 + 0 + 2 * 0.5) / 4, 12);
    expect(r.rocAuc).toEqual(rocAuc(rows, target, { numClasses: 3 }));
    expect(r.calibration).toEqual(expectedCalibrationError(rows, target, { numClasses: 3, bins: 5 }));
    expect(reportScalars(r)).toEqual({
      accuracy: 0.5,
      kappa: r.kappa,
      linearKappa: r.linearKappa,
      quadraticKappa: r.quadraticKappa,
      macroPrecision: r.macro.precision,
      macroRecall: r.macro.recall,
      macroF1: r.macro.f1,
      weightedF1: r.weighted.f1,
      macroRocAuc: r.rocAuc!.macro,
      ece: r.calibration!.ece,
    });
  });

  it('drops ROC-AUC and calibration once a batch comes as class indices', () => {
    const metrics = new ClassificationMetrics({ numClasses: 3 });
    metrics.update(rows.slice(0, 2), target.slice(0, 2));
    metrics.update([2, 1], target.slice(2));
    const r = metrics.compute();
    expect(r.quadraticKappa).toBeCloseTo(7 / 11, 12);
    expect(r.rocAuc).toBeNull();
    expect(r.calibration).toBeNull();
    expect(Object.keys(reportScalars(r))).not.toContain('ece');
    metrics.reset();
    metrics.update(rows, target);
    expect(metrics.compute().rocAuc).not.toBeNull();
  });

  it('can skip ROC-AUC to save memory', () => {
    const metrics = new ClassificationMetrics({ numClasses: 3, rocAuc: false });
    metrics.update(rows, target);
    expect(metrics.compute().rocAuc).toBeNull();
    expect(metrics.compute().calibration).not.toBeNull();
  });

  it('reads logits', () => {
    const logits = rows.map((row) => row.map(Math.log));
    const metrics = new ClassificationMetrics({ numClasses: 3, logits: true });
    metrics.update(logits, target);
    const r = metrics.compute();
    expect(r.quadraticKappa).toBeCloseTo(7 / 11, 12);
    expect(r.calibration!.ece).toBeCloseTo(expectedCalibrationError(rows, target, { numClasses: 3 }).ece, 12);
  });

  it('adds nothing from an invalid batch', () => {
    const metrics = new ClassificationMetrics({ numClasses: 3 });
    expect(() => metrics.update([[0.5, 0.5, NaN]], [0])).toThrow(
      'Expected a finite probability for pred[0][2] but received NaN',
    );
    expect(() => metrics.update([0, 1], [0])).toThrow(
      'Expected 1 class index or 3 scores (1 row × 3 classes) for pred but received [0,1]',
    );
    expect(metrics.count).toBe(0);
  });

  it('round-trips its state through JSON into a checkpoint', () => {
    const metrics = new ClassificationMetrics({ numClasses: 3, bins: 5 });
    metrics.update(rows.slice(0, 3), target.slice(0, 3));
    const checkpoint = JSON.parse(JSON.stringify({ step: 7, metrics: metrics.stateDict() }));
    const resumed = new ClassificationMetrics({ numClasses: 3, bins: 5 });
    resumed.loadStateDict(checkpoint.metrics);
    resumed.update(rows.slice(3), target.slice(3));
    metrics.update(rows.slice(3), target.slice(3));
    expect(resumed.compute()).toEqual(metrics.compute());
  });

  it('rejects a state that does not fit and stays unchanged', () => {
    const metrics = new ClassificationMetrics({ numClasses: 3 });
    metrics.update(rows, target);
    const before = metrics.compute();
    const other = new ClassificationMetrics({ numClasses: 3, bins: 10 }).stateDict();
    expect(() => metrics.loadStateDict(other)).toThrow(MetricsStateError);
    expect(() => metrics.loadStateDict(other)).toThrow('Expected 15 for state.bins but received 10');
    const noAuc = new ClassificationMetrics({ numClasses: 3, rocAuc: false }).stateDict();
    expect(() => metrics.loadStateDict(noAuc)).toThrow('Expected a roc-auc state for state.rocAuc but received null');
    expect(() => metrics.loadStateDict({ ...metrics.stateDict(), numClasses: 4 })).toThrow(
      'Expected 3 for state.numClasses but received 4',
    );
    expect(metrics.compute()).toEqual(before);
  });

  it('validates its options', () => {
    expect(() => new ClassificationMetrics(undefined as never)).toThrow(MetricsOptionError);
    expect(() => new ClassificationMetrics({ numClasses: 1 })).toThrow(
      'Expected an integer >= 2 for numClasses but received 1',
    );
    expect(() => new ClassificationMetrics({ numClasses: 3, zeroDivision: 2 as never })).toThrow(
      "Expected 0, 1 or 'nan' for zeroDivision but received 2",
    );
    expect(() => new ClassificationMetrics({ numClasses: 3, rocAuc: 'yes' as never })).toThrow(
      "Expected a boolean for rocAuc but received 'yes'",
    );
    expect(() => new ClassificationMetrics({ numClasses: 3, bins: 2.5 })).toThrow(
      'Expected an integer in [1, 1000000] for bins but received 2.5',
    );
  });
});

describe('ClassificationMetrics against scikit-learn', () => {
  // Probabilities in steps of 0.1 (many tied scores and tied argmaxes, resolved to the first class),
  // values from scikit-learn 1.9.1: accuracy_score, cohen_kappa_score(weights=None|'linear'|'quadratic'),
  // precision_recall_fscore_support(average='macro'|'weighted', zero_division=0), roc_auc_score per
  // class and with multi_class='ovr', average='macro'|'weighted'.
  const probabilities = [
    [0.3, 0.4, 0.2, 0.1],
    [0.1, 0.2, 0.5, 0.2],
    [0.0, 0.5, 0.3, 0.2],
    [0.2, 0.2, 0.2, 0.4],
    [0.2, 0.2, 0.3, 0.3],
    [0.3, 0.6, 0.1, 0.0],
    [0.3, 0.5, 0.0, 0.2],
    [0.1, 0.3, 0.1, 0.5],
    [0.0, 0.3, 0.3, 0.4],
    [0.4, 0.2, 0.2, 0.2],
    [0.2, 0.2, 0.0, 0.6],
    [0.1, 0.4, 0.2, 0.3],
    [0.2, 0.0, 0.5, 0.3],
    [0.1, 0.2, 0.5, 0.2],
    [0.2, 0.4, 0.2, 0.2],
    [0.3, 0.1, 0.3, 0.3],
    [0.2, 0.4, 0.2, 0.2],
    [0.3, 0.1, 0.3, 0.3],
    [0.2, 0.1, 0.5, 0.2],
    [0.2, 0.5, 0.2, 0.1],
  ];
  const labels = [1, 2, 1, 2, 2, 2, 3, 0, 2, 1, 1, 0, 0, 1, 3, 0, 1, 3, 3, 0];

  it('gives the same numbers', () => {
    const metrics = new ClassificationMetrics({ numClasses: 4 });
    metrics.update(probabilities, labels);
    const r = metrics.compute();
    expect(r.accuracy).toBeCloseTo(0.3, 12);
    expect(r.kappa).toBeCloseTo(0.05405405405405406, 12);
    expect(r.linearKappa).toBeCloseTo(0.03508771929824561, 12);
    expect(r.quadraticKappa).toBeCloseTo(0, 12);
    expect(r.macro.precision).toBeCloseTo(0.27708333333333335, 12);
    expect(r.macro.recall).toBeCloseTo(0.275, 12);
    expect(r.macro.f1).toBeCloseTo(0.2696428571428572, 12);
    expect(r.weighted.precision).toBeCloseTo(0.2958333333333333, 12);
    expect(r.weighted.recall).toBeCloseTo(0.3, 12);
    expect(r.weighted.f1).toBeCloseTo(0.29107142857142854, 12);
    const auc = [0.42666666666666675, 0.5773809523809523, 0.5733333333333333, 0.4140625];
    r.rocAuc!.perClass.forEach((v, c) => {
      expect(v).toBeCloseTo(auc[c]!, 12);
    });
    expect(r.rocAuc!.macro).toBeCloseTo(0.4978608630952381, 12);
    expect(r.rocAuc!.weighted).toBeCloseTo(0.5060267857142857, 12);
  });
});

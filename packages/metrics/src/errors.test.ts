import { describe as group, expect, it } from 'vitest';
import { MetricsError, MetricsOptionError, MetricsStateError, checkInteger, checkOneOf } from './errors.js';
import * as metrics from './index.js';

group('errors', () => {
  it('are one family with their own names and fields', () => {
    const option = new MetricsOptionError('numClasses', 'an integer >= 2', 1);
    expect(option).toBeInstanceOf(MetricsError);
    expect(option).toBeInstanceOf(Error);
    expect(option.name).toBe('MetricsOptionError');
    expect(option.message).toBe('Expected an integer >= 2 for numClasses but received 1');
    expect([option.parameter, option.expected, option.received]).toEqual(['numClasses', 'an integer >= 2', 1]);
    const state = new MetricsStateError('bins', '15', 10);
    expect(state).toBeInstanceOf(MetricsError);
    expect(state.name).toBe('MetricsStateError');
    expect(state.message).toBe('Expected 15 for state.bins but received 10');
  });

  it('check helpers word their expectations', () => {
    expect(() => checkInteger('n', -1, 0)).toThrow('Expected a non-negative integer for n but received -1');
    expect(() => checkInteger('n', 0, 1)).toThrow('Expected a positive integer for n but received 0');
    expect(() => checkInteger('n', 9, 1, 4)).toThrow('Expected an integer in [1, 4] for n but received 9');
    expect(() => checkOneOf('mode', true, ['a', 1])).toThrow("Expected one of 'a', 1 for mode but received true");
  });

  it('are exported with every public function and class', () => {
    for (const name of [
      'accuracy',
      'confusionMatrix',
      'cohenKappa',
      'quadraticWeightedKappa',
      'precisionRecallF1',
      'macroF1',
      'rocAuc',
      'binaryRocAuc',
      'rocCurve',
      'expectedCalibrationError',
      'ClassificationMetrics',
      'ConfusionAccumulator',
      'RocAucAccumulator',
      'CalibrationAccumulator',
      'ThroughputMeter',
      'MetricsOptionError',
    ]) {
      expect(typeof (metrics as Record<string, unknown>)[name], name).toBe('function');
    }
  });
});

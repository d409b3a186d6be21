/**
 * BatchNorm running statistics, updated as PyTorch's `BatchNorm` does in training mode:
 *
 *   running_mean ← (1 − m)·running_mean + m·μ_B
 *   running_var  ← (1 − m)·running_var  + m·σ²_B · n/(n − 1)     (unbiased batch variance)
 *
 * where m is PyTorch's `momentum` (default 0.1) and n the number of values per channel in the
 * batch (batch size × spatial size). ONNX's BatchNormalization attribute `momentum` is the weight
 * of the running value instead (default 0.9, and PyTorch's exporter writes 1 − m), so gibbon reads
 * the node's attribute and uses m = 1 − momentum_onnx. Normalisation itself uses the biased σ²_B.
 */
export interface ChannelStats {
  mean: Float32Array;
  variance: Float32Array;
}

export function updateRunningStats(running: ChannelStats, batch: ChannelStats, options: { momentum: number; count: number }): void {
  const m = 1 - options.momentum;
  const n = options.count;
  const unbias = n > 1 ? n / (n - 1) : 1;
  for (let c = 0; c < running.mean.length; c++) {
    running.mean[c] = (1 - m) * running.mean[c]! + m * batch.mean[c]!;
    running.variance[c] = (1 - m) * running.variance[c]! + m * batch.variance[c]! * unbias;
  }
}

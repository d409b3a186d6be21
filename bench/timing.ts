/** Benchmark timing: the median seconds of `reps` timed calls of fn, after two warm-up calls. */
export async function median(fn: () => Promise<void>, reps: number): Promise<number> {
  await fn();
  await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    times.push((performance.now() - t) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/**
 * Nimbus's asymmetric sinusoidal pulse: a quarter period up at amplitude A,
 * three quarters down at A/3, each a half sine, so the pulse adds nothing to
 * the mean rate. The short, high up-pulse makes elastic cross traffic back
 * off visibly; the long, shallow down-pulse drains the queue it built without
 * emptying it.
 */
export function asymmetricPulse(tUs: number, periodUs: number, amplitude: number): number {
  const phase = (((tUs % periodUs) + periodUs) % periodUs) / periodUs;
  if (phase < 0.25) return amplitude * Math.sin((Math.PI * phase) / 0.25);
  return -(amplitude / 3) * Math.sin((Math.PI * (phase - 0.25)) / 0.75);
}

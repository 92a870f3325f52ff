/** A section whose screen is still being built: says so plainly. */
export function NotYet({ label }: { label: string }) {
  return (
    <section aria-label={label}>
      <h2>{label}</h2>
      <p>This part of the console is not available yet.</p>
    </section>
  );
}

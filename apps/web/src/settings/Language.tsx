/** The language of the client. The picker comes with the translations (branch web-i18n). */
export function Language() {
  return (
    <section id="settings-language" aria-labelledby="language-title" className="account-section">
      <h2 id="language-title">Language</h2>
      <p className="sub">Sealmail is shown in English.</p>
    </section>
  );
}

/**
 * A short, readable name for a browser or program from its User-Agent: "Chrome on Linux",
 * "Firefox on Windows", "Safari on iPhone". Chromium says "Chrome" in its User-Agent, so it is
 * named so. Unknown: the first 40 characters of the string (or "unknown client").
 */
export function clientName(ua: string | null | undefined): string {
  if (!ua) return 'unknown client';
  const browsers: [RegExp, string][] = [
    [/Edg(A|iOS)?\//, 'Edge'],
    [/OPR\/|Opera/, 'Opera'],
    [/Firefox\/|FxiOS\//, 'Firefox'],
    [/Chrome\/|CriOS\//, 'Chrome'],
    [/Safari\//, 'Safari'],
    [/^sealmail-cli|node/i, 'Sealmail CLI'],
  ];
  const systems: [RegExp, string][] = [
    [/Android/, 'Android'],
    [/iPhone/, 'iPhone'],
    [/iPad/, 'iPad'],
    [/Windows/, 'Windows'],
    [/CrOS/, 'ChromeOS'],
    [/Mac OS X|Macintosh/, 'macOS'],
    [/Linux/, 'Linux'],
  ];
  const browser = browsers.find(([re]) => re.test(ua))?.[1];
  const system = systems.find(([re]) => re.test(ua))?.[1];
  if (browser || system) return [browser, system].filter(Boolean).join(' on ');
  return ua.length > 40 ? `${ua.slice(0, 40)}…` : ua;
}

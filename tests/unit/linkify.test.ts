/** Links in message text (src/lib/messages/linkify.ts): what becomes a link, and what never does. */
import { describe, expect, it } from 'vitest';
import { displayUrl, linkify, safeHref, MAX_URL } from '../../src/lib/messages/linkify.ts';

const links = (text: string) => linkify(text).filter((p) => p.href).map((p) => p.href);

describe('linkify', () => {
  it('keeps the text whole: the parts joined are the input', () => {
    for (const text of ['plain', 'see https://a.corp/x. ok', '(https://wiki.corp/a_(b)) 끝', '', 'a@b.co와 c@d.co']) {
      expect(linkify(text).map((p) => p.text).join('')).toBe(text);
    }
  });

  it('links http(s), intranet hosts, IPs with ports, www. and mail addresses', () => {
    expect(links('http://wiki.corp/ 와 http://10.0.0.5:8080 그리고 https://intranet/path?q=1#top')).toEqual(['http://wiki.corp/', 'http://10.0.0.5:8080/', 'https://intranet/path?q=1#top']);
    expect(links('www.example.com 참고')).toEqual(['https://www.example.com/']);
    expect(links('mailto:kim@corp.example 또는 lee.s@corp.example로')).toEqual(['mailto:kim@corp.example', 'mailto:lee.s@corp.example']);
  });

  it('never makes javascript:, data:, vbscript: or file: links', () => {
    for (const evil of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html;base64,PHNjcmlwdD4=', 'vbscript:msgbox(1)', 'file:///etc/passwd', 'java\tscript:alert(1)', 'mailto:javascript:alert(1)']) {
      expect(links(evil), evil).toEqual([]);
      expect(safeHref(evil), evil).toBeNull();
    }
    // a scheme URL hidden after javascript: is only ever linked as itself
    expect(links('javascript:https://x.corp/')).toEqual(['https://x.corp/']);
  });

  it('refuses user:password@ hosts that read as another site', () => {
    expect(links('http://bank.example@evil.example/login')).toEqual([]);
    expect(safeHref('https://a:b@evil.example')).toBeNull();
  });

  it('keeps HTML as text: no part carries markup, and the href is percent-encoded', () => {
    const parts = linkify('<img src=x onerror=alert(1)> https://a.corp/"><script>alert(1)</script>');
    expect(parts[0]).toEqual({ text: '<img src=x onerror=alert(1)> ' });
    expect(parts[1].href).toBe('https://a.corp/');
    expect(parts.slice(2).map((p) => p.text).join('')).toBe('"><script>alert(1)</script>');
    expect(links('https://a.corp/x<y')).toEqual(['https://a.corp/x']);
  });

  it('leaves Korean text next to a URL outside it, and sentence punctuation too', () => {
    expect(linkify('https://wiki.corp/배포에서 확인')).toEqual([{ text: 'https://wiki.corp/', href: 'https://wiki.corp/', display: 'wiki.corp' }, { text: '배포에서 확인' }]);
    expect(links('문서는https://wiki.corp/a 입니다')).toEqual(['https://wiki.corp/a']); // Korean glued before it, as people write
    expect(links('xhttps://a.corp/')).toEqual([]); // inside a Latin word: not a link start
    expect(links('링크: https://wiki.corp/a.')).toEqual(['https://wiki.corp/a']);
    expect(links('(https://wiki.corp/a)')).toEqual(['https://wiki.corp/a']);
    expect(links('https://en.wikipedia.org/wiki/Seoul_(city), 참고')).toEqual(['https://en.wikipedia.org/wiki/Seoul_(city)']);
    expect(links('"https://wiki.corp/q?a=1&b=2"')).toEqual(['https://wiki.corp/q?a=1&b=2']);
  });

  it('shows long URLs short, cut in the middle, percent-encoded Hangul as Hangul', () => {
    expect(displayUrl('https://wiki.corp/')).toBe('wiki.corp');
    expect(displayUrl('http://10.0.0.5:8080/')).toBe('10.0.0.5:8080');
    const long = 'https://wiki.corp/design/login-2026-renewal/final-v3?tab=comments&page=2';
    const shown = displayUrl(long);
    expect([...shown].length).toBeLessThanOrEqual(40);
    expect(shown.startsWith('wiki.corp/design/')).toBe(true);
    expect(shown).toContain('…');
    expect(shown.endsWith('page=2')).toBe(true);
    expect(displayUrl('https://ko.wikipedia.org/wiki/%EC%84%9C%EC%9A%B8')).toBe('ko.wikipedia.org/wiki/서울');
    // a decoded form that would hide characters stays encoded
    expect(displayUrl('https://a.corp/%E2%80%AEgpj.exe')).toBe('a.corp/%E2%80%AEgpj.exe');
  });

  it('leaves very long URLs as plain text, quickly', () => {
    const huge = 'https://a.corp/' + 'x'.repeat(MAX_URL);
    expect(links(huge)).toEqual([]);
    const parens = 'https://a.corp/' + ')'.repeat(MAX_URL - 20);
    const started = performance.now();
    expect(links(parens)).toEqual(['https://a.corp/']);
    expect(performance.now() - started).toBeLessThan(500);
    const ok = 'https://a.corp/' + 'y'.repeat(500);
    expect(links(ok)).toEqual([ok]);
  });
});

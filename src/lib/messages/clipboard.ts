/**
 * Copying text. `navigator.clipboard` exists only in secure contexts, and intranet servers are
 * often reached over plain http by IP: there the old `execCommand('copy')` on a hidden textarea
 * is the way (it needs the user's gesture, which a menu click is).
 */
export async function copyText(text: string): Promise<boolean> {
  if (typeof navigator !== 'undefined' && navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // denied (no permission, no focus): try the old way
    }
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.cssText = 'position:fixed;top:0;left:0;opacity:0;pointer-events:none';
  document.body.append(area);
  const active = document.activeElement as HTMLElement | null;
  area.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  active?.focus?.({ preventScroll: true });
  return ok;
}

/**
 * The plain text of a selection in the timeline with every link written as its full URL (links
 * show a shortened text). Null when the selection holds no link: the browser's own copy is right.
 */
export function selectionWithUrls(selection: Selection): string | null {
  if (selection.isCollapsed || selection.rangeCount === 0) return null;
  const range = selection.getRangeAt(0);
  const start = range.commonAncestorContainer;
  const within = (start.nodeType === Node.TEXT_NODE ? start.parentElement : (start as Element))?.closest<HTMLElement>('a[data-href]');
  if (within) return within.dataset.href ?? null;
  const fragment = range.cloneContents();
  const links = fragment.querySelectorAll<HTMLElement>('a[data-href]');
  if (links.length === 0) return null;
  for (const a of links) a.replaceWith(document.createTextNode(a.dataset.href ?? a.textContent ?? ''));
  // one line per message text, as the eye reads them
  for (const p of fragment.querySelectorAll('.text')) p.append(document.createTextNode('\n'));
  return (fragment.textContent ?? '').replace(/\n+$/, '');
}

/**
 * A long press with a finger (or pen) on an element: `action` after 480 ms held without moving
 * more than 10 px. Mice do not long-press (they have hover and the right button). The touch
 * context menu that Chromium raises for the same press is swallowed, and the click that follows
 * the lift is cancelled so that nothing under the finger is activated too.
 */
import type { Attachment } from 'svelte/attachments';

const HOLD_MS = 480;
const SLOP_PX = 10;

export function longPress(action: () => void): Attachment<HTMLElement> {
  return (el) => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    let origin: { x: number; y: number } | null = null;
    let fired = false;
    const cancel = () => {
      if (timer) clearTimeout(timer);
      timer = null;
      origin = null;
    };
    const down = (e: PointerEvent) => {
      if (e.pointerType === 'mouse' || !e.isPrimary) return;
      fired = false;
      origin = { x: e.clientX, y: e.clientY };
      timer = setTimeout(() => {
        timer = null;
        fired = true;
        navigator.vibrate?.(10);
        action();
      }, HOLD_MS);
    };
    const move = (e: PointerEvent) => {
      if (origin && Math.hypot(e.clientX - origin.x, e.clientY - origin.y) > SLOP_PX) cancel();
    };
    const contextmenu = (e: Event) => {
      if (fired || timer) e.preventDefault();
    };
    const click = (e: Event) => {
      if (!fired) return;
      fired = false;
      e.preventDefault();
      e.stopPropagation();
    };
    el.addEventListener('pointerdown', down);
    el.addEventListener('pointermove', move);
    el.addEventListener('pointerup', cancel);
    el.addEventListener('pointercancel', cancel);
    el.addEventListener('contextmenu', contextmenu);
    el.addEventListener('click', click, true);
    return () => {
      cancel();
      el.removeEventListener('pointerdown', down);
      el.removeEventListener('pointermove', move);
      el.removeEventListener('pointerup', cancel);
      el.removeEventListener('pointercancel', cancel);
      el.removeEventListener('contextmenu', contextmenu);
      el.removeEventListener('click', click, true);
    };
  };
}

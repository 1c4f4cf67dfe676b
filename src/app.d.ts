// See https://svelte.dev/docs/kit/types#app.d.ts
declare global {
  namespace App {
    /** Shallow-routing state (`pushState`): the image viewer takes one history entry, so Back closes it. */
    interface PageState {
      imageViewer?: boolean;
    }
  }
}
export {};

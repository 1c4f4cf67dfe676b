/** The reactions offered: a quick set on every message and a small picker (no outside assets). */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏'] as const;

export const PICKER_EMOJI = [
  '😀', '😁', '😅', '🤣', '😊', '😍', '🥰', '😘', '😎', '🤔', '🤗', '🙄',
  '😴', '😭', '😡', '🤯', '🥳', '😇', '🙃', '😬', '👏', '🙌', '👌', '✌️',
  '💪', '👀', '🤝', '👎', '🔥', '✨', '🎉', '💯', '✅', '❌', '⭐', '💡',
  '☕', '🍚', '🍻', '🎂', '🚀', '📌', '📎', '⏰', '💬', '👋', '💔', '🫡',
] as const;

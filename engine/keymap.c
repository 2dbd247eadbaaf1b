typedef int px__placeholder_keymap; /* written next */

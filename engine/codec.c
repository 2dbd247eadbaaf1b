typedef int px__placeholder_codec; /* written next */

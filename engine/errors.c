typedef int px__placeholder_errors; /* written next */

/*
 * pam_nrduo.so: a Duo-shaped second factor for the namdrunner loopback TEST cluster only.
 *
 * It talks through the PAM conversation the way Duo's own PAM module does at a terminal:
 *
 *   Duo two-factor login for <user>
 *
 *   Enter a passcode or select one of the following options:
 *
 *    1. Duo Push to XXX-XXX-1234
 *    2. Phone call to XXX-XXX-1234
 *
 *   Passcode or option (1-2): 1
 *
 *   Pushed a login request to your device...
 *   Success. Logging you in...
 *
 * The fixed test passcode (module argument passcode=N) is accepted at once; "1" (push) or "2" (phone
 * call) is decided by the control file (argument control=PATH, read at each login):
 *   "approve SECONDS"  the phone approves after SECONDS
 *   "deny SECONDS"     the phone denies after SECONDS
 *   "never"            nobody answers (Duo gives up after its own 60 s window... here after 300 s)
 *   "slow SECONDS"     the service itself is slow: a passcode is checked only after SECONDS
 * The argument "autopush" makes it push at once, with no menu and no prompt (sites that autopush).
 * cluster.sh compiles it with the system's cc against libpam; it is never installed system-wide.
 */
#define _GNU_SOURCE
#include <security/pam_appl.h>
#include <security/pam_modules.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int converse(pam_handle_t *pamh, int style, const char *text, char **answer) {
    const struct pam_conv *conv = NULL;
    if (pam_get_item(pamh, PAM_CONV, (const void **)&conv) != PAM_SUCCESS || conv == NULL || conv->conv == NULL) {
        return PAM_CONV_ERR;
    }
    struct pam_message msg = {.msg_style = style, .msg = text};
    const struct pam_message *msgs[1] = {&msg};
    struct pam_response *resp = NULL;
    int rc = conv->conv(1, msgs, &resp, conv->appdata_ptr);
    if (rc != PAM_SUCCESS) {
        return rc;
    }
    if (answer != NULL) {
        *answer = (resp != NULL && resp[0].resp != NULL) ? strdup(resp[0].resp) : strdup("");
    }
    if (resp != NULL) {
        if (resp[0].resp != NULL) {
            memset(resp[0].resp, 0, strlen(resp[0].resp));
            free(resp[0].resp);
        }
        free(resp);
    }
    return PAM_SUCCESS;
}

static void info(pam_handle_t *pamh, const char *text) { converse(pamh, PAM_TEXT_INFO, text, NULL); }

/* The phone's answer to a push, as the control file says. */
static int push(pam_handle_t *pamh, const char *control, const char *what) {
    char line[128] = "approve 0";
    FILE *f = control ? fopen(control, "r") : NULL;
    if (f != NULL) {
        if (fgets(line, sizeof line, f) == NULL) {
            strcpy(line, "approve 0");
        }
        fclose(f);
    }
    info(pamh, what);
    char verdict[32] = "";
    int seconds = 0;
    if (sscanf(line, "%31s %d", verdict, &seconds) < 1) {
        strcpy(verdict, "approve");
    }
    if (strcmp(verdict, "never") == 0) {
        sleep(300);
        info(pamh, "Timed out.");
        return PAM_AUTH_ERR;
    }
    if (seconds > 0) {
        sleep((unsigned)seconds);
    }
    if (strcmp(verdict, "deny") == 0) {
        info(pamh, "Login request denied.");
        return PAM_AUTH_ERR;
    }
    info(pamh, "Success. Logging you in...");
    return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv) {
    (void)flags;
    const char *passcode = "123456", *control = NULL;
    int autopush = 0;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "passcode=", 9) == 0) {
            passcode = argv[i] + 9;
        } else if (strncmp(argv[i], "control=", 8) == 0) {
            control = argv[i] + 8;
        } else if (strcmp(argv[i], "autopush") == 0) {
            autopush = 1;
        }
    }
    const char *user = NULL;
    if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL) {
        return PAM_USER_UNKNOWN;
    }
    if (autopush) {
        return push(pamh, control, "Pushed a login request to your device...");
    }
    char menu[512];
    snprintf(menu, sizeof menu,
             "Duo two-factor login for %s\n\n"
             "Enter a passcode or select one of the following options:\n\n"
             " 1. Duo Push to XXX-XXX-1234\n"
             " 2. Phone call to XXX-XXX-1234\n",
             user);
    info(pamh, menu);
    char *answer = NULL;
    if (converse(pamh, PAM_PROMPT_ECHO_ON, "Passcode or option (1-2): ", &answer) != PAM_SUCCESS || answer == NULL) {
        return PAM_CONV_ERR;
    }
    int rc;
    if (strcmp(answer, "1") == 0) {
        rc = push(pamh, control, "Pushed a login request to your device...");
    } else if (strcmp(answer, "2") == 0) {
        rc = push(pamh, control, "Calling your phone...");
    } else if (strcmp(answer, passcode) == 0) {
        char line[64] = "";
        int seconds = 0;
        FILE *f = control ? fopen(control, "r") : NULL;
        if (f != NULL) {
            if (fgets(line, sizeof line, f) != NULL && sscanf(line, "slow %d", &seconds) == 1 && seconds > 0) {
                sleep((unsigned)seconds);
            }
            fclose(f);
        }
        rc = PAM_SUCCESS;
    } else {
        info(pamh, "Invalid passcode, please try again.");
        rc = PAM_AUTH_ERR;
    }
    memset(answer, 0, strlen(answer));
    free(answer);
    return rc;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv) {
    (void)pamh;
    (void)flags;
    (void)argc;
    (void)argv;
    return PAM_SUCCESS;
}

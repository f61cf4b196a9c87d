package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.procq.config.ConfigException;
import dev.procq.config.JobTypes;
import dev.procq.pool.RunAs;
import org.junit.jupiter.api.Test;

class ChildUsersTest {
    @Test
    void namesBecomeIdsOnceAtStart() {
        assumeTrue(RunAs.whyUsersCannotChange().isEmpty(), "the worker here may not switch users");
        JobTypes types = JobTypes.parse("""
                types:
                  named: {command: ["true", "{target}"], user: nobody}
                  grouped: {command: ["true", "{target}"], user: nobody, group: daemon}
                  numeric: {command: ["true", "{target}"], user: 4242, group: 4343}
                  own: {command: ["true", "{target}"]}
                """, "test");
        ChildUsers users = ChildUsers.resolve(types);
        assertThat(users.of(types.find("named").orElseThrow())).isEqualTo(new RunAs(65534, 65534, "nobody"));
        assertThat(users.of(types.find("grouped").orElseThrow()).gid()).isEqualTo(1);
        assertThat(users.of(types.find("numeric").orElseThrow())).isEqualTo(new RunAs(4242, 4343, "4242:4343"));
        assertThat(users.of(types.find("own").orElseThrow())).isNull();
    }

    @Test
    void anUnknownUserOrGroupStopsStartUpNamingTheType() {
        assertThatThrownBy(() -> ChildUsers.resolve(JobTypes.parse("""
                types:
                  ghost: {command: ["true", "{target}"], user: no-such-user-here}
                """, "test")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("job type ghost: user no-such-user-here: no such user: no-such-user-here");
        assertThatThrownBy(() -> ChildUsers.resolve(JobTypes.parse("""
                types:
                  ghost: {command: ["true", "{target}"], user: nobody, group: no-such-group-here}
                """, "test")))
                .hasMessage("job type ghost: user nobody, group no-such-group-here: no such group: no-such-group-here");
        assertThatThrownBy(() -> ChildUsers.resolve(JobTypes.parse("""
                types:
                  orphan: {command: ["true", "{target}"], user: 4242}
                """, "test")))
                .hasMessageContaining("uid 4242 has no account, so it has no primary group: name a group");
    }
}

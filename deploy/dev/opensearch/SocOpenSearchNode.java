import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * A single OpenSearch node for development and CI, built from the Maven Central jars: the stock
 * server with the HTTP transport and the modules the alert layout needs, loaded from the
 * classpath (the distribution's own launcher expects an unpacked tarball that Maven Central does
 * not serve). Settings come from config/opensearch.yml under the home given as the only argument.
 * Stops cleanly on SIGTERM.
 */
public final class SocOpenSearchNode extends Node {
    private static final List<Class<? extends Plugin>> MODULES =
        List.of(Netty4Plugin.class, CommonAnalysisPlugin.class, PainlessPlugin.class, MapperExtrasPlugin.class);

    private SocOpenSearchNode(Environment env) {
        super(env, MODULES, true);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: SocOpenSearchNode HOME (with HOME/config/opensearch.yml)");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        Path config = home.resolve("config");
        Settings input = Settings.builder()
            .loadFromPath(config.resolve("opensearch.yml"))
            .put("path.home", home.toString())
            .build();
        Environment env = InternalSettingsPreparer.prepareEnvironment(input, Collections.emptyMap(), config, () -> "soc-dev");
        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(env.settings()));
        if (Files.exists(config.resolve("log4j2.properties"))) LogConfigurator.configure(env);
        else LogConfigurator.configureWithoutConfig(env.settings());

        Node node = new SocOpenSearchNode(env);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "soc-opensearch-shutdown"));
        node.start();
        stopped.await();
    }
}
